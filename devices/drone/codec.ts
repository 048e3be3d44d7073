/**
 * DJI Cloud API style: every message is an envelope {tid, bid, timestamp, method, data, gateway,
 * need_reply}. The envelope is checked strictly; `data` is an open object (vendors add fields
 * with each firmware), of which the values gridedge uses are checked for type and range.
 */
import { Type } from '@sinclair/typebox';
import { deviceTime, jsonPayload } from '../payload.js';
import type { DecodeContext, DecodeResult, FieldValue } from '../types.js';

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
    case 'status': {
      const p = parse.envelope(payload);
      if (!p.ok) return p;
      const v = p.value;
      const method = v.method ?? (channel === 'state' ? 'state' : channel === 'status' ? 'update_topo' : 'event');
      // tid/bid travel with the event so a rule can echo them in the reply the protocol asks for.
      const data: Record<string, FieldValue> = {
        ...primitives(v.data as Record<string, unknown>),
        channel,
        needReply: channel === 'status' || v.need_reply === 1,
      };
      if (v.tid) data.tid = v.tid;
      if (v.bid) data.bid = v.bid;
      return { ok: true, messages: [{ type: 'event', event: method, data, ts: deviceTime(v.timestamp, ctx.receivedAt) }] };
    }
    case 'services_reply': {
      const p = parse.reply(payload);
      if (!p.ok) return p;
      const v = p.value;
      if (!v.tid) return { ok: false, reason: 'schema', detail: 'tid: missing (a reply must name the service call it answers)' };
      return {
        ok: true,
        messages: [
          {
            type: 'reply',
            id: v.tid,
            ok: v.data.result === 0,
            ...(v.data.result !== 0 ? { detail: `result ${v.data.result}` } : {}),
            ts: deviceTime(v.timestamp, ctx.receivedAt),
          },
        ],
      };
    }
    default:
      return { ok: false, reason: 'unknown_channel', detail: `drone has no channel '${channel}'` };
  }
}
