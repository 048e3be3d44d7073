/**
 * DJI Cloud API style: every message is an envelope {tid, bid, timestamp, method, data, gateway,
 * need_reply}. The envelope is checked strictly; `data` is an open object (vendors add fields
 * with each firmware), of which the values gridedge uses are checked for type and range.
 */
import { Type } from '@sinclair/typebox';
import { deviceTime, jsonPayload } from '../payload.js';
import type { DecodeContext, DecodeResult, FieldValue, Normalized } from '../types.js';

const Envelope = (data: ReturnType<typeof Type.Object>) =>
  Type.Object(
    {
      tid: Type.Optional(Type.String({ maxLength: 64, description: 'transaction id' })),
      bid: Type.Optional(Type.String({ maxLength: 64, description: 'business id' })),
      timestamp: Type.Optional(Type.Integer({ minimum: 0, description: 'milliseconds since the Unix epoch' })),
      method: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      need_reply: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })),
      gateway: Type.Optional(Type.String({ maxLength: 64 })),
      data,
    },
    { additionalProperties: false },
  );

/** A live video address a drone or dock gives: rtsp:// or rtsps://, no spaces. */
export const RTSP_URL = /^rtsps?:\/\/\S+$/;

const Num = (min: number, max: number, what: string) =>
  Type.Optional(Type.Number({ minimum: min, maximum: max, description: `${what}, ${min}..${max}` }));

export const OsdSchema = Envelope(
  Type.Object(
    {
      latitude: Num(-90, 90, 'latitude in degrees'),
      longitude: Num(-180, 180, 'longitude in degrees'),
      height: Num(-1000, 20_000, 'height in metres (ellipsoid)'),
      elevation: Num(-1000, 10_000, 'height above the take-off point, metres'),
      horizontal_speed: Num(0, 200, 'horizontal speed, m/s'),
      vertical_speed: Num(-100, 100, 'vertical speed, m/s'),
      mode_code: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
      battery: Type.Optional(Type.Object({ capacity_percent: Num(0, 100, 'battery in percent') })),
    },
    { additionalProperties: true },
  ),
);

interface OsdData {
  latitude?: number;
  longitude?: number;
  height?: number;
  elevation?: number;
  horizontal_speed?: number;
  vertical_speed?: number;
  mode_code?: number;
  battery?: { capacity_percent?: number };
}

const OpenData = Type.Object({}, { additionalProperties: true });
export const EnvelopeSchema = Envelope(OpenData);
export const ReplySchema = Envelope(
  Type.Object({ result: Type.Integer({ description: '0 for success' }) }, { additionalProperties: true }),
);

const parse = {
  osd: jsonPayload(OsdSchema, 64 * 1024),
  envelope: jsonPayload(EnvelopeSchema, 64 * 1024),
  reply: jsonPayload(ReplySchema, 64 * 1024),
};

export const MEASUREMENT = 'drone';

/** The flat, primitive part of a vendor `data` object, for event facts and series fields. */
function primitives(data: Record<string, unknown>, prefix = ''): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === '__proto__' || k === 'constructor') continue;
    if (typeof v === 'number' && Number.isFinite(v)) out[prefix + k] = v;
    else if (typeof v === 'string') out[prefix + k] = v.slice(0, 200);
    else if (typeof v === 'boolean') out[prefix + k] = v;
    if (Object.keys(out).length >= 32) break;
  }
  return out;
}

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'osd': {
      const p = parse.osd(payload);
      if (!p.ok) return p;
      // Validated above; the open `data` object types its extra keys as unknown, hence the view.
      const d = p.value.data as OsdData;
      const fields: Record<string, number> = {};
      if (d.latitude !== undefined) fields.lat = d.latitude;
      if (d.longitude !== undefined) fields.lon = d.longitude;
      if (d.height !== undefined) fields.height = d.height;
      if (d.elevation !== undefined) fields.elevation = d.elevation;
      if (d.horizontal_speed !== undefined) fields.speed = d.horizontal_speed;
      if (d.vertical_speed !== undefined) fields.vertical_speed = d.vertical_speed;
      if (d.battery?.capacity_percent !== undefined) fields.battery = d.battery.capacity_percent;
      if (d.mode_code !== undefined) fields.mode_code = d.mode_code;
      if (Object.keys(fields).length === 0) return { ok: true, messages: [] };
      return {
        ok: true,
        messages: [{ type: 'reading', measurement: MEASUREMENT, fields, ts: deviceTime(p.value.timestamp, ctx.receivedAt) }],
      };
    }
    case 'state':
    case 'events':
    case 'requests':
    case 'status': {
      const p = parse.envelope(payload);
      if (!p.ok) return p;
      const v = p.value;
      const method = v.method ?? (channel === 'state' ? 'state' : channel === 'status' ? 'update_topo' : 'event');
      // tid/bid travel with the event so a rule can echo them in the reply the protocol asks for.
      const ts = deviceTime(v.timestamp, ctx.receivedAt);
      const data: Record<string, FieldValue> = {
        ...primitives(v.data as Record<string, unknown>),
        ...(method === 'hms' ? hmsFacts(v.data as Record<string, unknown>) : {}),
        ...(method === 'flighttask_progress' ? taskFacts(v.data as Record<string, unknown>) : {}),
        channel,
        // A request always wants its answer (Cloud API: requests → requests_reply).
        needReply: channel === 'status' || channel === 'requests' || v.need_reply === 1,
      };
      if (v.tid) data.tid = v.tid;
      if (v.bid) data.bid = v.bid;
      const messages: Normalized[] = [{ type: 'event', event: method, data, ts }];
      // A flight task's progress is a series too: percent done and its status, per flight.
      if (typeof data.taskPercent === 'number')
        messages.push({
          type: 'reading',
          measurement: 'drone_task',
          fields: { percent: data.taskPercent, ...(typeof data.taskStatus === 'string' ? { status: data.taskStatus } : {}) },
          ts,
        });
      return { ok: true, messages };
    }
    case 'services_reply': {
      const p = parse.reply(payload);
      if (!p.ok) return p;
      const v = p.value;
      if (!v.tid) return { ok: false, reason: 'schema', detail: 'tid: missing (a reply must name the service call it answers)' };
      const ts = deviceTime(v.timestamp, ctx.receivedAt);
      // live_start_push over RTSP answers with the dock's stream URL in `output`: an announced video.
      const output = (v.data as { output?: unknown }).output;
      const live: Normalized[] =
        v.method === 'live_start_push' && v.data.result === 0 && typeof output === 'string' && RTSP_URL.test(output)
          ? [
              {
                type: 'event',
                event: 'live_start_push',
                data: { url: output.slice(0, 1024), channel: 'services_reply', needReply: false },
                ts,
              },
            ]
          : [];
      return {
        ok: true,
        messages: [
          ...live,
          {
            type: 'reply',
            id: v.tid,
            ok: v.data.result === 0,
            ...(v.data.result !== 0 ? { detail: `result ${v.data.result}` } : {}),
            ts,
          },
        ],
      };
    }
    default:
      return { ok: false, reason: 'unknown_channel', detail: `drone has no channel '${channel}'` };
  }
}

/**
 * HMS (health management) events: `data.list` holds the device's current health messages, each
 * with a `level` (0 notice, 1 caution, 2 warning) and a `code` such as 0x16100083 (the Cloud
 * API's HMS event). Flattened to the worst level, how many there are and their codes.
 */
function hmsFacts(data: Record<string, unknown>): Record<string, FieldValue> {
  const list = Array.isArray(data.list) ? (data.list as Array<Record<string, unknown>>).slice(0, 100) : [];
  const levels = list.map((h) => (typeof h?.level === 'number' ? h.level : 0));
  const codes = list.map((h) => (typeof h?.code === 'string' ? h.code.slice(0, 16) : '')).filter(Boolean);
  return { hmsLevel: levels.length ? Math.max(...levels) : 0, hmsCount: list.length, hmsCodes: codes.slice(0, 8).join(',') };
}

/** A flight task's progress (`flighttask_progress`): `output.status`, `output.progress.percent`, `output.ext.flight_id`. */
function taskFacts(data: Record<string, unknown>): Record<string, FieldValue> {
  const output = (data.output ?? {}) as { status?: unknown; progress?: { percent?: unknown }; ext?: { flight_id?: unknown } };
  const out: Record<string, FieldValue> = {};
  if (typeof output.status === 'string') out.taskStatus = output.status.slice(0, 32);
  if (typeof output.progress?.percent === 'number' && Number.isFinite(output.progress.percent))
    out.taskPercent = Math.max(0, Math.min(100, output.progress.percent));
  if (typeof output.ext?.flight_id === 'string') out.flightId = output.ext.flight_id.slice(0, 64);
  return out;
}
