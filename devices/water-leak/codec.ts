import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { deviceTime, jsonPayload } from '../payload.js';
import { decodeStatus } from '../status.js';
import type { DecodeContext, DecodeResult } from '../types.js';

const Timestamp = Type.Optional(Type.Integer({ minimum: 0, description: 'device time in milliseconds since the Unix epoch' }));

/** Periodic reading, also the heartbeat. */
export const TelemetrySchema = Type.Object(
  {
    ts: Timestamp,
    leak: Type.Boolean({ description: 'true while the probe is wet' }),
    battery: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'battery level in percent, 0..100' })),
  },
  { additionalProperties: false },
);

export const EVENTS = ['leak', 'dry', 'tamper', 'tamper_clear', 'low_battery', 'fault', 'fault_clear'] as const;

export const EventSchema = Type.Object(
  {
    ts: Timestamp,
    event: StringEnum(EVENTS),
    battery: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    code: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const parseTelemetry = jsonPayload(TelemetrySchema);
const parseEvent = jsonPayload(EventSchema);

export const MEASUREMENT = 'water_leak';

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'telemetry': {
      const p = parseTelemetry(payload);
      if (!p.ok) return p;
      const v = p.value;
      const fields: Record<string, number | boolean> = { leak: v.leak };
      if (v.battery !== undefined) fields.battery = v.battery;
      return { ok: true, messages: [{ type: 'reading', measurement: MEASUREMENT, fields, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'event': {
      const p = parseEvent(payload);
      if (!p.ok) return p;
      const v = p.value;
      const data: Record<string, number | string> = {};
      if (v.battery !== undefined) data.battery = v.battery;
      if (v.code !== undefined) data.code = v.code;
      return { ok: true, messages: [{ type: 'event', event: v.event, data, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'status':
      return decodeStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unknown_channel', detail: `water-leak has no channel '${channel}'` };
  }
}
