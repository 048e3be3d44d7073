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
    battery: Type.Number({ minimum: 0, maximum: 100, description: 'battery level in percent, 0..100' }),
    smokeDensity: Type.Number({
      minimum: 0,
      maximum: 20,
      description: 'smoke obscuration in dB/m, 0..20',
    }),
    temperature: Type.Optional(Type.Number({ minimum: -40, maximum: 150, description: 'temperature in °C, -40..150' })),
  },
  { additionalProperties: false },
);

export const EVENTS = ['alarm', 'clear', 'fault', 'fault_clear', 'test', 'low_battery', 'tamper', 'tamper_clear'] as const;

export const EventSchema = Type.Object(
  {
    ts: Timestamp,
    event: StringEnum(EVENTS),
    smokeDensity: Type.Optional(Type.Number({ minimum: 0, maximum: 20, description: 'smoke obscuration in dB/m, 0..20' })),
    battery: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'battery level in percent, 0..100' })),
    code: Type.Optional(Type.String({ maxLength: 64, description: 'vendor fault code, up to 64 characters' })),
  },
  { additionalProperties: false },
);

const parseTelemetry = jsonPayload(TelemetrySchema);
const parseEvent = jsonPayload(EventSchema);

export const MEASUREMENT = 'smoke_alarm';

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'telemetry': {
      const p = parseTelemetry(payload);
      if (!p.ok) return p;
      const v = p.value;
      const fields: Record<string, number> = { battery: v.battery, smoke_density: v.smokeDensity };
      if (v.temperature !== undefined) fields.temperature = v.temperature;
      return { ok: true, messages: [{ type: 'reading', measurement: MEASUREMENT, fields, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'event': {
      const p = parseEvent(payload);
      if (!p.ok) return p;
      const v = p.value;
      const data: Record<string, number | string> = {};
      if (v.smokeDensity !== undefined) data.smokeDensity = v.smokeDensity;
      if (v.battery !== undefined) data.battery = v.battery;
      if (v.code !== undefined) data.code = v.code;
      return { ok: true, messages: [{ type: 'event', event: v.event, data, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'status':
      return decodeStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unknown_channel', detail: `smoke-alarm has no channel '${channel}'` };
  }
}
