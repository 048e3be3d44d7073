import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { deviceTime, jsonPayload } from '../payload.js';
import { decodeStatus } from '../status.js';
import type { DecodeContext, DecodeResult } from '../types.js';

const Timestamp = Type.Optional(Type.Integer({ minimum: 0, description: 'device time in milliseconds since the Unix epoch' }));

export const TelemetrySchema = Type.Object(
  {
    ts: Timestamp,
    lel: Type.Number({ minimum: 0, maximum: 100, description: 'gas concentration in %LEL, 0..100' }),
    gas: Type.Optional(StringEnum(['lpg', 'natural_gas'] as const)),
    valve: Type.Optional(StringEnum(['open', 'closed'] as const)),
    battery: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'battery level in percent, 0..100' })),
  },
  { additionalProperties: false },
);

export const EVENTS = ['fault', 'fault_clear', 'tamper', 'tamper_clear', 'valve_closed', 'valve_opened', 'test'] as const;

export const EventSchema = Type.Object(
  {
    ts: Timestamp,
    event: StringEnum(EVENTS),
    code: Type.Optional(Type.String({ maxLength: 64, description: 'vendor fault code, up to 64 characters' })),
  },
  { additionalProperties: false },
);

export const ReplySchema = Type.Object(
  {
    ts: Timestamp,
    id: Type.String({ minLength: 1, maxLength: 64, description: 'the id of the command answered' }),
    ok: Type.Boolean(),
    detail: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

const parse = {
  telemetry: jsonPayload(TelemetrySchema),
  event: jsonPayload(EventSchema),
  reply: jsonPayload(ReplySchema),
};

export const MEASUREMENT = 'gas_sensor';

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'telemetry': {
      const p = parse.telemetry(payload);
      if (!p.ok) return p;
      const v = p.value;
      const fields: Record<string, number | string> = { lel: v.lel };
      if (v.gas) fields.gas = v.gas;
      if (v.valve) fields.valve = v.valve;
      if (v.battery !== undefined) fields.battery = v.battery;
      return { ok: true, messages: [{ type: 'reading', measurement: MEASUREMENT, fields, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'event': {
      const p = parse.event(payload);
      if (!p.ok) return p;
      const data: Record<string, string> = p.value.code ? { code: p.value.code } : {};
      return { ok: true, messages: [{ type: 'event', event: p.value.event, data, ts: deviceTime(p.value.ts, ctx.receivedAt) }] };
    }
    case 'reply': {
      const p = parse.reply(payload);
      if (!p.ok) return p;
      const v = p.value;
      return {
        ok: true,
        messages: [{ type: 'reply', id: v.id, ok: v.ok, ...(v.detail ? { detail: v.detail } : {}), ts: deviceTime(v.ts, ctx.receivedAt) }],
      };
    }
    case 'status':
      return decodeStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unknown_channel', detail: `gas-sensor has no channel '${channel}'` };
  }
}
