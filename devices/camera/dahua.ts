/**
 * A Dahua camera's own analytics, as Dahua's HTTP API (eventManager, "attach") serves them: the
 * gateway holds `GET /cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=5` open (HTTP
 * Digest), a `multipart/x-mixed-replace; boundary=myboundary` stream of text/plain parts, each
 *
 *     Code=VideoMotion;action=Start;index=0
 *     Code=CrossLineDetection;action=Start;index=0;data={ "Direction" : "LeftToRight", … }
 *
 * or `Heartbeat` every `heartbeat` seconds. `index` is the channel from 0; `action` is Start and
 * Stop for a state (motion, tamper, an object inside a region) and Pulse for an instant (a
 * plate read at a junction). `data` is JSON after the first `;data=` — it may hold `;` and `=`
 * itself, and some firmware cuts it short: an event whose data cannot be read still counts by
 * its code, and is refused only for what needed the data. The firmware's Content-Length values
 * do not always match the body (0 is common), so parts end at the boundary.
 *
 * Read: VideoMotion (motion), VideoBlind (tamper: the lens covered), VideoLoss,
 * CrossLineDetection (line crossing), CrossRegionDetection (intrusion); FaceDetection and
 * TrafficJunction (ANPR: `TrafficCar.PlateNumber`, `PlateColor`, or `Object.Text`) are captures,
 * their picture taken from `snapshot.cgi?channel=<index+1>` at once (the event stream carries no
 * image).
 */
import { cameraGet, fetchSnapshot } from './snapshot.js';
import {
  type AnalyticsCapture,
  type AnalyticsEventKind,
  AnalyticsStream,
  type CameraDeviceInfo,
  cameraPlate,
  PLATE_COLORS,
} from './analytics.js';

export const DAHUA_ATTACH_PATH = '/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=5';

const KINDS: Readonly<Record<string, AnalyticsEventKind>> = {
  VideoMotion: 'motion',
  VideoBlind: 'tamper',
  VideoLoss: 'video_lost',
  CrossLineDetection: 'line_crossing',
  CrossRegionDetection: 'intrusion',
};
const CAPTURES: Readonly<Record<string, AnalyticsCapture['subject']>> = { FaceDetection: 'face', TrafficJunction: 'plate' };

export interface DahuaEvent {
  code: string;
  action: 'Start' | 'Stop' | 'Pulse';
  /** 1-based, as the gateway names channels (Dahua's index + 1). */
  channel: number;
  data?: Record<string, unknown>;
  /** `data=` was there but is not a JSON object (cut short, or garbled). */
  dataUnreadable?: boolean;
}

/** The events in one part's text (usually one); a line that is not an event is skipped. */
export function parseDahuaEvents(text: string): DahuaEvent[] {
  const out: DahuaEvent[] = [];
  const starts = [...text.matchAll(/(^|\n)Code=/g)].map((m) => m.index + m[1]!.length);
  starts.forEach((start, i) => {
    const one = text.slice(start, starts[i + 1] ?? text.length).trim();
    const at = one.indexOf(';data=');
    const head = at >= 0 ? one.slice(0, at) : one;
    const fields = new Map<string, string>();
    for (const kv of head.split(';')) {
      const eq = kv.indexOf('=');
      if (eq > 0) fields.set(kv.slice(0, eq).trim().toLowerCase(), kv.slice(eq + 1).trim());
    }
    const code = fields.get('code') ?? '';
    const action = fields.get('action');
    const index = Number(fields.get('index') ?? '0');
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(code) || (action !== 'Start' && action !== 'Stop' && action !== 'Pulse')) return;
    if (!Number.isInteger(index) || index < 0 || index > 255) return;
    const ev: DahuaEvent = { code, action, channel: index + 1 };
    if (at >= 0) {
      try {
        const data = JSON.parse(one.slice(at + 6)) as unknown;
        if (data && typeof data === 'object' && !Array.isArray(data)) ev.data = data as Record<string, unknown>;
        else ev.dataUnreadable = true;
      } catch {
        ev.dataUnreadable = true;
      }
    }
    out.push(ev);
  });
  return out;
}

/** When the event happened: its data's UTC (s) and UTCMS, unless the camera's clock is off by minutes. */
function eventTime(data: Record<string, unknown> | undefined, receivedAt: number): number {
  const utc = Number(data?.UTC);
  const ms = Number(data?.UTCMS ?? 0);
  const at = utc * 1000 + (Number.isFinite(ms) ? ms : 0);
  return Number.isFinite(at) && Math.abs(at - receivedAt) < 5 * 60_000 ? at : receivedAt;
}

function object(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A capture event's text fields (the picture is fetched apart); refused (a string) when a plate read has no plate. */
export function dahuaCapture(e: DahuaEvent, receivedAt: number): Omit<AnalyticsCapture, 'pictures'> | string | undefined {
  const subject = CAPTURES[e.code];
  if (!subject || e.action === 'Stop') return undefined;
  const base = { subject, eventType: e.code, channel: e.channel, at: eventTime(e.data, receivedAt) };
  if (subject === 'face') return base;
  if (e.dataUnreadable || !e.data) return `${e.code} without readable data: no plate`;
  const car = object(e.data.TrafficCar);
  const obj = object(e.data.Object);
  const plate = cameraPlate(car.PlateNumber) ?? cameraPlate(obj.Text);
  if (!plate) return `${e.code} names no plate`;
  const color = PLATE_COLORS[String(car.PlateColor ?? '').toLowerCase()];
  return { ...base, plate, ...(color ? { color } : {}) };
}

/** Dahua's `key=value` lines (magicBox.cgi answers): deviceType, serialNumber … */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/).slice(0, 200)) {
    const eq = line.indexOf('=');
    if (eq > 0)
      out.set(
        line.slice(0, eq).trim(),
        line
          .slice(eq + 1)
          .trim()
          .slice(0, 128),
      );
  }
  return out;
}

/** A Dahua camera's `magicBox.cgi?action=getSystemInfo` (deviceType, serialNumber) and `getSoftwareVersion` (version). */
export async function dahuaDeviceInfo(url: string, user = '', password = '', timeoutMs = 5000): Promise<CameraDeviceInfo> {
  const base = `${url.replace(/\/$/, '')}/cgi-bin/magicBox.cgi?action=`;
  const get = async (action: string) =>
    parseKeyValues((await cameraGet(`${base}${action}`, user, password, timeoutMs, 'Dahua magicBox')).bytes.toString('utf8'));
  const system = await get('getSystemInfo');
  const software = await get('getSoftwareVersion').catch(() => new Map<string, string>());
  const info: CameraDeviceInfo = {};
  const model = system.get('deviceType');
  const serial = system.get('serialNumber');
  const firmware = software.get('version');
  if (model) info.model = model;
  if (serial) info.serial = serial;
  if (firmware) info.firmware = firmware;
  return info;
}

export class DahuaEventStream extends AnalyticsStream {
  protected readonly path = DAHUA_ATTACH_PATH;
  readonly label = 'Dahua';
  protected override readonly trustLength = false;
  /** Snapshots that could not be taken for a capture (the capture goes on without its picture). */
  snapshotFailures = 0;

  /** `magicBox.cgi?action=getSystemInfo` (deviceType, serialNumber) and `getSoftwareVersion` (version). */
  protected readInfo(): Promise<CameraDeviceInfo> {
    return dahuaDeviceInfo(this.opts.url, this.opts.user, this.opts.password);
  }

  protected part(_headers: Record<string, string>, body: Buffer): void {
    const text = body.toString('utf8').trim();
    if (text === 'Heartbeat' || text === '') return;
    const events = parseDahuaEvents(text);
    if (!events.length) {
      this.emit('refused', `not a Dahua event: ${JSON.stringify(text.slice(0, 60))}`);
      return;
    }
    const now = Date.now();
    for (const e of events) {
      const kind = KINDS[e.code];
      if (kind) {
        const ev = { kind, eventType: e.code, channel: e.channel, state: true, at: eventTime(e.data, now) };
        if (e.action === 'Stop') this.clear(e.channel, kind, ev.at);
        // Start … Stop: the camera says when it ends. A Pulse ends when quiet.
        else this.raise(ev, e.action === 'Start');
        continue;
      }
      const capture = dahuaCapture(e, now);
      if (typeof capture === 'string') this.emit('refused', capture);
      else if (capture) void this.withPicture(capture);
    }
  }

  /** The capture with the camera's snapshot of that moment, or without one when it cannot be had. */
  private async withPicture(c: Omit<AnalyticsCapture, 'pictures'>): Promise<void> {
    const o = this.opts;
    const url = `${o.url.replace(/\/$/, '')}/cgi-bin/snapshot.cgi?channel=${c.channel}`;
    let pictures: AnalyticsCapture['pictures'] = [];
    try {
      pictures = [{ name: 'snapshot.jpg', mime: 'image/jpeg', bytes: await fetchSnapshot(url, o.user, o.password) }];
    } catch {
      this.snapshotFailures++;
    }
    this.emit('capture', { ...c, pictures });
  }
}
