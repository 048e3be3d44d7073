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
import { XMLParser } from 'fast-xml-parser';
import { cameraGet } from './snapshot.js';
import {
  type AnalyticsCapture,
  type AnalyticsEvent,
  type AnalyticsEventKind,
  AnalyticsStream,
  type CameraDeviceInfo,
  cameraPlate,
  PLATE_COLORS,
} from './analytics.js';

export const ALERT_STREAM_PATH = '/ISAPI/Event/notification/alertStream';
export const DEVICE_INFO_PATH = '/ISAPI/System/deviceInfo';
/** Channel 1's main stream picture: ISAPI's snapshot. */
export const ISAPI_SNAPSHOT_PATH = '/ISAPI/Streaming/channels/101/picture';

/** ISAPI eventType → what it is for the gateway (others are counted and left). */
const KINDS: Readonly<Record<string, AnalyticsEventKind>> = {
  vmd: 'motion',
  shelteralarm: 'tamper',
  videoloss: 'video_lost',
  linedetection: 'line_crossing',
  fielddetection: 'intrusion',
  regionentrance: 'intrusion',
  regionexiting: 'intrusion',
};

const xml = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, processEntities: false });

/** One EventNotificationAlert, read; undefined when it is not one. */
/**
 * The alert object of a part: the EventNotificationAlert element of its XML, or — newer firmware
 * asked for JSON (parameterFormatType JSON) — the JSON object itself, whose keys are the same.
 */
function alertObject(body: Buffer): Record<string, unknown> | undefined {
  const text = body.toString('utf8').trim();
  try {
    if (text.startsWith('{')) {
      const v = JSON.parse(text) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
      const o = v as Record<string, unknown>;
      const inner = o.EventNotificationAlert;
      return inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : o;
    }
    const a = (xml.parse(text) as Record<string, unknown>).EventNotificationAlert;
    return a && typeof a === 'object' ? (a as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** How many pictures an ANPR alert says follow it (`picNum`, 1..8), when it says. */
function picturesAnnounced(a: Record<string, unknown>): number | undefined {
  const n = Number(a.picNum);
  return Number.isInteger(n) && n >= 1 && n <= 8 ? n : undefined;
}

export function parseAlert(body: Buffer, receivedAt: number): Omit<AnalyticsEvent, 'kind'> | undefined {
  const a = alertObject(body);
  return a && readAlert(a, receivedAt);
}

/** An ANPR or face capture's XML, if this alert is one (the pictures come after it). */
export function parseCapture(body: Buffer, receivedAt: number): Omit<AnalyticsCapture, 'pictures'> | undefined {
  const a = alertObject(body);
  const alert = a && readAlert(a, receivedAt);
  return a && alert && readCapture(a, alert);
}

function readAlert(a: Record<string, unknown>, receivedAt: number): Omit<AnalyticsEvent, 'kind'> | undefined {
  if (typeof a.eventType !== 'string') return undefined;
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

function readCapture(doc: Record<string, unknown>, alert: Omit<AnalyticsEvent, 'kind'>): Omit<AnalyticsCapture, 'pictures'> | undefined {
  const type = alert.eventType.toLowerCase();
  const base = { eventType: alert.eventType, channel: alert.channel, at: alert.at };
  if (type === 'anpr') {
    const anpr = (doc.ANPR ?? {}) as Record<string, unknown>;
    const plate = cameraPlate(anpr.licensePlate);
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

/** ISAPI's `DeviceInfo` document (GET /ISAPI/System/deviceInfo): model, serial, firmware, name, MAC. */
export function parseDeviceInfo(body: Buffer): CameraDeviceInfo {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = (xml.parse(body.toString('utf8')) as { DeviceInfo?: Record<string, unknown> }).DeviceInfo;
  } catch {
    doc = undefined;
  }
  if (!doc || typeof doc !== 'object') throw new Error('deviceInfo: not a DeviceInfo document');
  const text = (k: string) => (typeof doc[k] === 'string' && doc[k] !== '' ? (doc[k] as string).slice(0, 128) : undefined);
  const firmware = [text('firmwareVersion'), text('firmwareReleasedDate')].filter(Boolean).join(' ');
  const info: CameraDeviceInfo = {};
  const model = text('model');
  const serial = text('serialNumber');
  const name = text('deviceName');
  const mac = text('macAddress');
  if (model) info.model = model;
  if (serial) info.serial = serial;
  if (firmware) info.firmware = firmware;
  if (name) info.name = name;
  if (mac) info.mac = mac;
  return info;
}

/** A Hikvision camera's /ISAPI/System/deviceInfo, read with its account (Digest). */
export async function isapiDeviceInfo(base: string, user = '', password = '', timeoutMs = 5000): Promise<CameraDeviceInfo> {
  const { bytes } = await cameraGet(`${base.replace(/\/$/, '')}${DEVICE_INFO_PATH}`, user, password, timeoutMs, 'ISAPI deviceInfo');
  return parseDeviceInfo(bytes);
}

export class IsapiEventStream extends AnalyticsStream {
  protected readonly path = ALERT_STREAM_PATH;
  readonly label = 'ISAPI';
  /** The capture whose pictures are still arriving. */
  private pending?: { capture: AnalyticsCapture; timer: NodeJS.Timeout; expected?: number };

  protected readInfo(): Promise<CameraDeviceInfo> {
    return isapiDeviceInfo(this.opts.url, this.opts.user, this.opts.password);
  }

  protected override onStop(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  /** Pushed to the gateway (httpHosts) since it started, and when last. */
  pushes = 0;
  lastPushAt?: number;

  /** Parts the camera pushed to the gateway (httpHosts), read as if from its stream; a capture among them goes at once. */
  receive(parts: ReadonlyArray<{ headers: Record<string, string>; body: Buffer }>): void {
    this.pushes++;
    this.lastPushAt = Date.now();
    for (const p of parts) this.part(p.headers, p.body);
    this.flush();
  }

  /** The pending capture is complete (its next part is not a picture, or none came for a while). */
  private flush(): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = undefined;
    this.emit('capture', p.capture);
  }

  protected part(headers: Record<string, string>, body: Buffer): void {
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
      // The alert said how many pictures follow (picNum): with the last one the capture is complete.
      if (p.expected !== undefined && p.capture.pictures.length >= p.expected) this.flush();
      return;
    }
    this.flush();
    // One parse per part: its alert, then what it is.
    const a = alertObject(body);
    const alert = a && readAlert(a, Date.now());
    if (!a || !alert) {
      this.emit('refused', 'not an EventNotificationAlert');
      return;
    }
    const capture = readCapture(a, alert);
    if (capture) {
      const expected = picturesAnnounced(a);
      this.pending = {
        capture: { ...capture, pictures: [] },
        timer: setTimeout(() => this.flush(), 1000),
        ...(expected ? { expected } : {}),
      };
      this.pending.timer.unref();
      return;
    }
    const kind = KINDS[alert.eventType.toLowerCase()];
    if (!kind) return;
    // videoloss inactive is also the heartbeat: it only ends a video loss that was active.
    if (alert.state) this.raise({ ...alert, kind });
    else this.clear(alert.channel, kind, alert.at);
  }
}
