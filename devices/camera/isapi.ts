/**
 * A Hikvision camera's own analytics over ISAPI: the gateway holds `GET
 * /ISAPI/Event/notification/alertStream` open (HTTP Digest), a `multipart/mixed` stream of
 * `EventNotificationAlert` XML parts (each with its Content-Type, usually its Content-Length),
 * and reads motion (VMD), tamper (shelteralarm), video loss, line crossing (linedetection) and
 * intrusion (fielddetection, regionEntrance, regionExiting) from it. Cameras repeat an active
 * event about once a second and seldom say it ended: repeats fold into one, and an event ends
 * after a quiet period (or an explicit `inactive`). `videoloss inactive` every few seconds is the
 * stream's heartbeat; a stream silent for longer than `silenceMs` is dropped and opened again,
 * as one the camera closes is, with backoff.
 */
import { EventEmitter } from 'node:events';
import { XMLParser } from 'fast-xml-parser';
import { answerChallenge } from '../../core/http-digest.js';
import { maskUrl } from '../../core/secrets.js';

export const ALERT_STREAM_PATH = '/ISAPI/Event/notification/alertStream';

export type IsapiEventKind = 'motion' | 'tamper' | 'video_lost' | 'line_crossing' | 'intrusion';

/** ISAPI eventType → what it is for the gateway (others are counted and left). */
const KINDS: Readonly<Record<string, IsapiEventKind>> = {
  vmd: 'motion',
  shelteralarm: 'tamper',
  videoloss: 'video_lost',
  linedetection: 'line_crossing',
  fielddetection: 'intrusion',
  regionentrance: 'intrusion',
  regionexiting: 'intrusion',
};

export interface IsapiEvent {
  kind: IsapiEventKind;
  /** The camera's own name of it (fielddetection, regionEntrance …). */
  eventType: string;
  channel: number;
  state: boolean;
  at: number;
  description?: string;
}

/**
 * A capture the camera made itself: an ANPR read (plate text, colour, direction) or a face
 * capture, with the pictures that follow its XML in the stream (named by the part's filename:
 * licensePlatePicture.jpg, detectionPicture.jpg, faceImage.jpg, backgroundImage.jpg …).
 */
export interface IsapiCapture {
  subject: 'plate' | 'face';
  eventType: string;
  channel: number;
  at: number;
  plate?: string;
  color?: string;
  direction?: 'in' | 'out';
  confidence?: number;
  pictures: Array<{ name: string; mime: string; bytes: Buffer }>;
}

export interface IsapiEvents {
  event: [e: IsapiEvent];
  capture: [c: IsapiCapture];
  connected: [];
  /** The stream failed or ended; it is opened again after `retryMs`. */
  error: [err: Error, retryMs: number];
  /** A part that was not a readable EventNotificationAlert (counted by the caller). */
  refused: [why: string];
}

export interface IsapiOptions {
  /** The camera's base address, http://host[:port]. */
  url: string;
  user?: string;
  password?: string;
  /** An active event not repeated for this long has ended. */
  quietMs?: number;
  /** No byte for this long (heartbeats included): the stream is dead. */
  silenceMs?: number;
}

const MAX_PART_BYTES = 4 * 1024 * 1024;
const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, processEntities: false });

/** Cuts a multipart/mixed byte stream into parts (RFC 2046 §5.1), with or without Content-Length. */
export class MultipartSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly delimiter: Buffer;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`--${boundary}`);
  }

  /** The complete parts in `chunk` and what came before; throws on a part over 4 MiB. */
  push(chunk: Buffer): Array<{ headers: Record<string, string>; body: Buffer }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ headers: Record<string, string>; body: Buffer }> = [];
    for (;;) {
      const start = this.buf.indexOf(this.delimiter);
      if (start < 0) break;
      const headEnd = this.buf.indexOf('\r\n\r\n', start);
      if (headEnd < 0) break;
      const headers: Record<string, string> = {};
      for (const line of this.buf
        .subarray(start + this.delimiter.length, headEnd)
        .toString('latin1')
        .split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const bodyStart = headEnd + 4;
      const length = Number(headers['content-length']);
      let bodyEnd: number;
      let next: number;
      if (Number.isInteger(length) && length >= 0) {
        if (length > MAX_PART_BYTES) throw new Error(`a part of ${length} bytes (over ${MAX_PART_BYTES})`);
        if (this.buf.length < bodyStart + length) break;
        bodyEnd = bodyStart + length;
        next = bodyEnd;
      } else {
        const at = this.buf.indexOf(this.delimiter, bodyStart);
        if (at < 0) {
          if (this.buf.length - bodyStart > MAX_PART_BYTES) throw new Error(`a part without Content-Length over ${MAX_PART_BYTES} bytes`);
          break;
        }
        bodyEnd = at;
        next = at;
      }
      let body = this.buf.subarray(bodyStart, bodyEnd);
      while (body.length && (body[body.length - 1] === 0x0a || body[body.length - 1] === 0x0d)) body = body.subarray(0, -1);
      out.push({ headers, body });
      this.buf = this.buf.subarray(next);
    }
    if (this.buf.length > MAX_PART_BYTES * 2) throw new Error('no part boundary in 8 MiB');
    return out;
  }
}

/** One EventNotificationAlert, read; undefined when it is not one. */
export function parseAlert(body: Buffer, receivedAt: number): Omit<IsapiEvent, 'kind'> | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const a = doc.EventNotificationAlert as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object' || typeof a.eventType !== 'string') return undefined;
  const at = typeof a.dateTime === 'string' ? Date.parse(a.dateTime) : Number.NaN;
  const channel = Number(a.channelID ?? a.dynChannelID ?? 1);
  return {
    eventType: a.eventType,
    channel: Number.isInteger(channel) ? channel : 1,
    state: String(a.eventState ?? 'active').toLowerCase() === 'active',
    // A camera clock far off (unset after a power cut) is not believed.
    at: Number.isFinite(at) && Math.abs(at - receivedAt) < 24 * 3600_000 ? at : receivedAt,
    ...(typeof a.eventDescription === 'string' ? { description: a.eventDescription } : {}),
  };
}

/** ISAPI's plate colours (ANPR plateColor) as gridedge names them. */
const PLATE_COLORS: Readonly<Record<string, string>> = { blue: 'blue', yellow: 'yellow', white: 'white', black: 'black', green: 'green' };

/** An ANPR or face capture's XML, if this alert is one (the pictures come after it). */
export function parseCapture(body: Buffer, receivedAt: number): Omit<IsapiCapture, 'pictures'> | undefined {
  const alert = parseAlert(body, receivedAt);
  if (!alert) return undefined;
  const type = alert.eventType.toLowerCase();
  let doc: Record<string, unknown>;
  try {
    doc = (xml.parse(body.toString('utf8')) as { EventNotificationAlert: Record<string, unknown> }).EventNotificationAlert;
  } catch {
    return undefined;
  }
  const base = { eventType: alert.eventType, channel: alert.channel, at: alert.at };
  if (type === 'anpr') {
    const anpr = (doc.ANPR ?? {}) as Record<string, unknown>;
    const text = typeof anpr.licensePlate === 'string' ? anpr.licensePlate.replace(/[\s·•.-]/g, '').toUpperCase() : '';
    // "unknown" (无车牌) and empty reads are not plates.
    const plate = /^[\p{Script=Han}A-Z0-9]{5,10}$/u.test(text) && !/^UNKNOWN$/.test(text) ? text : undefined;
    const color = PLATE_COLORS[String(anpr.plateColor ?? '').toLowerCase()];
    const dir = String(anpr.direction ?? '').toLowerCase();
    const confidence = Number(anpr.confidenceLevel);
    return {
      ...base,
      subject: 'plate',
      ...(plate ? { plate } : {}),
      ...(color ? { color } : {}),
      ...(dir === 'forward' ? { direction: 'in' as const } : dir === 'reverse' ? { direction: 'out' as const } : {}),
      ...(Number.isFinite(confidence) && confidence >= 0 && confidence <= 100 ? { confidence: confidence / 100 } : {}),
    };
  }
  if (type === 'facesnap' || type === 'facecapture' || type === 'facedetection') return { ...base, subject: 'face' };
  return undefined;
}

export class IsapiEventStream extends EventEmitter<IsapiEvents> {
  private abort?: AbortController;
  /** The capture whose pictures are still arriving. */
  private pending?: { capture: IsapiCapture; timer: NodeJS.Timeout };
  private stopped = true;
  private retryMs = 1000;
  private retryTimer?: NodeJS.Timeout;
  private silenceTimer?: NodeJS.Timeout;
  private readonly active = new Map<string, { e: IsapiEvent; lastSeen: number }>();
  private sweep?: NodeJS.Timeout;
  connected = false;

  constructor(private readonly opts: IsapiOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.sweep = setInterval(() => this.endQuiet(), 500);
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    clearInterval(this.sweep);
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.abort?.abort();
    this.connected = false;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const url = `${this.opts.url.replace(/\/$/, '')}${ALERT_STREAM_PATH}`;
    const abort = new AbortController();
    this.abort = abort;
    try {
      let res = await fetch(url, { signal: abort.signal });
      const challenge = res.headers.get('www-authenticate');
      if (res.status === 401 && challenge && this.opts.user) {
        await res.body?.cancel();
        const authorization = answerChallenge(challenge, this.opts.user, this.opts.password ?? '', 'GET', ALERT_STREAM_PATH);
        res = await fetch(url, { headers: { authorization }, signal: abort.signal });
      }
      if (res.status === 401) throw new Error('the camera refused the credentials');
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
      if (!boundary) throw new Error(`not a multipart stream (${res.headers.get('content-type') ?? 'no Content-Type'})`);
      this.connected = true;
      this.retryMs = 1000;
      this.emit('connected');
      const splitter = new MultipartSplitter(boundary);
      this.armSilence(abort);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.armSilence(abort);
        for (const part of splitter.push(Buffer.from(chunk))) this.part(part.headers, part.body);
      }
      throw new Error('the camera ended the event stream');
    } catch (err) {
      this.connected = false;
      clearTimeout(this.silenceTimer);
      if (this.stopped) return;
      const e = err as Error;
      const why = e.name === 'AbortError' ? 'no event or heartbeat for too long' : e.message;
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, /credentials/.test(why) ? 300_000 : 30_000);
      this.emit('error', new Error(`ISAPI ${maskUrl(url)}: ${why}`), delay);
      this.retryTimer = setTimeout(() => void this.open(), delay);
    }
  }

  private armSilence(abort: AbortController): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => abort.abort(), this.opts.silenceMs ?? 60_000);
  }

  /** The pending capture is complete (its next part is not a picture, or none came for a while). */
  private flush(): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    this.emit('capture', p.capture);
  }

  private part(headers: Record<string, string>, body: Buffer): void {
    const type = headers['content-type'] ?? '';
    // Pictures follow the XML of their ANPR or face capture, one part each.
    if (/^image\//i.test(type)) {
      const p = this.pending;
      if (!p || p.capture.pictures.length >= 8) return;
      const name =
        /filename="?([^";]+)"?/i.exec(headers['content-disposition'] ?? '')?.[1] ??
        headers['content-id'] ??
        `picture-${p.capture.pictures.length + 1}.jpg`;
      p.capture.pictures.push({ name, mime: type.split(';')[0]!.trim().toLowerCase(), bytes: body });
      return;
    }
    this.flush();
    const capture = parseCapture(body, Date.now());
    if (capture) {
      this.pending = { capture: { ...capture, pictures: [] }, timer: setTimeout(() => this.flush(), 1000) };
      this.pending.timer.unref();
      return;
    }
    const alert = parseAlert(body, Date.now());
    if (!alert) {
      this.emit('refused', 'not an EventNotificationAlert');
      return;
    }
    const kind = KINDS[alert.eventType.toLowerCase()];
    if (!kind) return;
    const key = `${alert.channel}|${kind}`;
    const known = this.active.get(key);
    if (alert.state) {
      if (known) known.lastSeen = Date.now();
      else {
        const e: IsapiEvent = { ...alert, kind };
        this.active.set(key, { e, lastSeen: Date.now() });
        this.emit('event', e);
      }
    } else if (known) {
      // videoloss inactive is also the heartbeat: it only ends a video loss that was active.
      this.active.delete(key);
      this.emit('event', { ...known.e, state: false, at: alert.at });
    }
  }

  private endQuiet(): void {
    const quiet = this.opts.quietMs ?? 5000;
    const now = Date.now();
    for (const [key, a] of this.active) {
      if (now - a.lastSeen < quiet) continue;
      this.active.delete(key);
      this.emit('event', { ...a.e, state: false, at: a.lastSeen });
    }
  }
}
