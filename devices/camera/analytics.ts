/**
 * A smart camera's own analytics, whatever its vendor: what the gateway reads (events that start
 * and end, captures with their pictures), how it holds a camera's long-lived multipart event
 * stream open (HTTP Digest, reconnect with backoff, a silent stream dropped), and how repeats of
 * an active event fold into one that ends after a quiet period. Hikvision's ISAPI alertStream
 * (isapi.ts) and Dahua's eventManager attach (dahua.ts) are the two streams built on it.
 */
import { EventEmitter } from 'node:events';
import { answerChallenge } from '../../core/http-digest.js';
import { maskUrl } from '../../core/secrets.js';

export type AnalyticsEventKind = 'motion' | 'tamper' | 'video_lost' | 'line_crossing' | 'intrusion';

export interface AnalyticsEvent {
  kind: AnalyticsEventKind;
  /** The camera's own name of it (fielddetection, CrossRegionDetection …). */
  eventType: string;
  channel: number;
  state: boolean;
  at: number;
  description?: string;
}

/**
 * A capture the camera made itself: a plate read (text, colour, direction) or a face capture,
 * with its pictures (named: licensePlatePicture.jpg, faceImage.jpg, snapshot.jpg …).
 */
export interface AnalyticsCapture {
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

export interface AnalyticsEvents {
  event: [e: AnalyticsEvent];
  capture: [c: AnalyticsCapture];
  connected: [];
  /** The stream failed or ended; it is opened again after `retryMs`. */
  error: [err: Error, retryMs: number];
  /** A part that could not be read (counted by the caller). */
  refused: [why: string];
}

/** What a camera says of itself (ISAPI deviceInfo, Dahua magicBox getSystemInfo). */
export interface CameraDeviceInfo {
  model?: string;
  serial?: string;
  firmware?: string;
  name?: string;
  mac?: string;
}

export interface AnalyticsStreamOptions {
  /** The camera's base address, http://host[:port]. */
  url: string;
  user?: string;
  password?: string;
  /** An active event not repeated for this long has ended. */
  quietMs?: number;
  /** No byte for this long (heartbeats included): the stream is dead. */
  silenceMs?: number;
  /** false: the camera pushes its events to the gateway instead (ISAPI httpHosts); no stream is opened. */
  listen?: boolean;
}

/**
 * A camera's plate colours as gridedge names them (ISAPI plateColor, Dahua PlateColor, lower
 * case): new-energy plates are green whether the camera says gradient green (small cars) or
 * yellow-green (large vehicles); civil aviation plates keep their base colour.
 */
export const PLATE_COLORS: Readonly<Record<string, string>> = {
  blue: 'blue',
  yellow: 'yellow',
  white: 'white',
  black: 'black',
  green: 'green',
  gradientgreen: 'green',
  yellowgreen: 'green',
  newenergygreen: 'green',
  civilaviationblack: 'black',
  civilaviationgreen: 'green',
};

/** A plate as a camera reads it, tidied; undefined for "unknown" (无车牌) and empty reads. */
export function cameraPlate(raw: unknown): string | undefined {
  const text = typeof raw === 'string' ? raw.replace(/[\s·•.-]/g, '').toUpperCase() : '';
  return /^[\p{Script=Han}A-Z0-9]{5,10}$/u.test(text) && text !== 'UNKNOWN' ? text : undefined;
}

export const MAX_PART_BYTES = 4 * 1024 * 1024;

/**
 * Cuts a multipart byte stream into parts (RFC 2046 §5.1), with or without Content-Length. With
 * `trustLength: false` a part always ends at the next delimiter (Dahua's firmware writes
 * Content-Length values that do not match the body).
 */
export class MultipartSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly delimiter: Buffer;

  constructor(
    boundary: string,
    private readonly trustLength = true,
  ) {
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
      if (
        headers['content-length'] !== undefined &&
        Number.isInteger(length) &&
        length >= 0 &&
        (this.trustLength || (length > 0 && this.endsPart(bodyStart + length)))
      ) {
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

  /** A Content-Length not to be believed still ends a part where the bytes after it are the end or the next delimiter. */
  private endsPart(at: number): boolean {
    if (this.buf.length < at) return false;
    let i = at;
    while (i < this.buf.length && (this.buf[i] === 0x0d || this.buf[i] === 0x0a)) i++;
    if (i === this.buf.length) return true;
    return this.buf.subarray(i, i + this.delimiter.length).equals(this.delimiter);
  }

  /**
   * The last part, taken although no delimiter followed it yet: for a stream whose lengths are
   * not believed, once the camera has been quiet a moment (else the part would wait for the next
   * heartbeat). Undefined when no part's headers are complete.
   */
  takePending(): { headers: Record<string, string>; body: Buffer } | undefined {
    const start = this.buf.indexOf(this.delimiter);
    if (start < 0 || this.buf.indexOf('\r\n\r\n', start) < 0) return undefined;
    const parts = this.push(Buffer.concat([Buffer.from('\r\n'), this.delimiter, Buffer.from('\r\n')]));
    return parts[parts.length - 1];
  }
}

/**
 * A camera's long-lived multipart event stream: opened with HTTP Digest, read part by part,
 * opened again with backoff (up to 30 s; 5 min after a refused password) when the camera ends
 * it, drops it, or stays silent for `silenceMs`. Active events are folded: a repeat of one
 * already active only keeps it alive; it ends on `clear`, or when quiet for `quietMs`.
 */
export abstract class AnalyticsStream extends EventEmitter<AnalyticsEvents> {
  private abort?: AbortController;
  private stopped = true;
  private retryMs = 1000;
  private retryTimer?: NodeJS.Timeout;
  private silenceTimer?: NodeJS.Timeout;
  private pendingTimer?: NodeJS.Timeout;
  private readonly active = new Map<string, { e: AnalyticsEvent; lastSeen: number; untilCleared: boolean }>();
  private sweep?: NodeJS.Timeout;
  connected = false;
  /** What the camera says of itself, read once its stream first opens. */
  info?: CameraDeviceInfo;
  infoError?: string;

  /** The stream's path and query on the camera. */
  protected abstract readonly path: string;
  /** Its name in messages ("ISAPI", "Dahua"). */
  abstract readonly label: string;
  /** Whether the stream's Content-Length values can be believed. */
  protected readonly trustLength: boolean = true;

  constructor(protected readonly opts: AnalyticsStreamOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.sweep = setInterval(() => this.endQuiet(), 500);
    if (this.opts.listen !== false) void this.open();
    else this.learnInfo();
  }

  /** Reads what the camera says of itself, once it has said it; a failure is kept to show. */
  private learnInfo(): void {
    if (this.info) return;
    this.readInfo().then(
      (info) => {
        this.info = info;
        this.infoError = undefined;
      },
      (err: unknown) => {
        this.infoError = (err as Error).message;
      },
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    clearInterval(this.sweep);
    this.abort?.abort();
    this.connected = false;
    this.onStop();
  }

  /** What a subclass lets go of when stopped. */
  protected onStop(): void {}

  /** One part of the stream. */
  protected abstract part(headers: Record<string, string>, body: Buffer): void;

  /** Reads what the camera says of itself (its model, serial, firmware). */
  protected abstract readInfo(): Promise<CameraDeviceInfo>;

  private async open(): Promise<void> {
    if (this.stopped) return;
    const url = `${this.opts.url.replace(/\/$/, '')}${this.path}`;
    const abort = new AbortController();
    this.abort = abort;
    try {
      let res = await fetch(url, { signal: abort.signal });
      const challenge = res.headers.get('www-authenticate');
      if (res.status === 401 && challenge && this.opts.user) {
        await res.body?.cancel();
        const authorization = answerChallenge(challenge, this.opts.user, this.opts.password ?? '', 'GET', this.path);
        res = await fetch(url, { headers: { authorization }, signal: abort.signal });
      }
      if (res.status === 401) throw new Error('the camera refused the credentials');
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const boundary = /boundary="?([^";]+)"?/i.exec(res.headers.get('content-type') ?? '')?.[1];
      if (!boundary) throw new Error(`not a multipart stream (${res.headers.get('content-type') ?? 'no Content-Type'})`);
      this.connected = true;
      this.retryMs = 1000;
      this.emit('connected');
      this.learnInfo();
      const splitter = new MultipartSplitter(boundary.replace(/^--/, ''), this.trustLength);
      this.armSilence(abort);
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          this.armSilence(abort);
          clearTimeout(this.pendingTimer);
          let parts: ReturnType<MultipartSplitter['push']>;
          try {
            parts = splitter.push(Buffer.from(chunk));
          } catch (err) {
            // A hostile or broken stream (a part over 4 MiB, no boundary for 8 MiB): refused, counted, opened again.
            this.emit('refused', `multipart: ${(err as Error).message}`);
            throw err;
          }
          for (const part of parts) this.part(part.headers, part.body);
          // A part whose length is not believed ends at the next delimiter, or after a quiet moment.
          if (!this.trustLength)
            this.pendingTimer = setTimeout(() => {
              const part = splitter.takePending();
              if (part) this.part(part.headers, part.body);
            }, 200);
        }
      } finally {
        clearTimeout(this.pendingTimer);
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
      this.emit('error', new Error(`${this.label} ${maskUrl(url)}: ${why}`), delay);
      this.retryTimer = setTimeout(() => void this.open(), delay);
    }
  }

  private armSilence(abort: AbortController): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => abort.abort(), this.opts.silenceMs ?? 60_000);
  }

  /**
   * An event is active (again): raised the first time, kept alive by repeats. `untilCleared`: the
   * camera says when it ends (Dahua's Start … Stop), so quiet does not end it.
   */
  protected raise(e: AnalyticsEvent, untilCleared = false): void {
    const key = `${e.channel}|${e.kind}`;
    const known = this.active.get(key);
    if (known) known.lastSeen = Date.now();
    else {
      this.active.set(key, { e, lastSeen: Date.now(), untilCleared });
      this.emit('event', e);
    }
  }

  /** The camera says an event ended; nothing when it was not active (a heartbeat's "inactive"). */
  protected clear(channel: number, kind: AnalyticsEventKind, at: number): void {
    const key = `${channel}|${kind}`;
    const known = this.active.get(key);
    if (!known) return;
    this.active.delete(key);
    this.emit('event', { ...known.e, state: false, at });
  }

  private endQuiet(): void {
    const quiet = this.opts.quietMs ?? 5000;
    const now = Date.now();
    for (const [key, a] of this.active) {
      if (a.untilCleared || now - a.lastSeen < quiet) continue;
      this.active.delete(key);
      this.emit('event', { ...a.e, state: false, at: a.lastSeen });
    }
  }
}
