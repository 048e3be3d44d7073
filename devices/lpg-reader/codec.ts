import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { deviceTime, jsonPayload } from '../payload.js';
import { decodeStatus } from '../status.js';
import type { DecodeContext, DecodeResult } from '../types.js';

const Timestamp = Type.Optional(Type.Integer({ minimum: 0, description: 'device time in milliseconds since the Unix epoch' }));

export const ScanSchema = Type.Object(
  {
    ts: Timestamp,
    tagId: Type.String({ pattern: '^[A-Za-z0-9_-]{4,64}$', description: "the cylinder's e-tag id" }),
    operation: StringEnum(['fill', 'delivery'] as const, { description: 'fill (at a station) or delivery (to a customer)' }),
    weightBeforeKg: Type.Number({ minimum: 0, maximum: 200, description: 'gross weight before, kg, 0..200' }),
    weightAfterKg: Type.Number({ minimum: 0, maximum: 200, description: 'gross weight after, kg, 0..200' }),
    station: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'station code the reader reports' })),
  },
  { additionalProperties: false },
);

export const HeartbeatSchema = Type.Object({ ts: Timestamp }, { additionalProperties: false });

export const EventSchema = Type.Object(
  {
    ts: Timestamp,
    event: StringEnum(['fault', 'fault_clear', 'tamper', 'tamper_clear'] as const),
    code: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const parse = { scan: jsonPayload(ScanSchema), heartbeat: jsonPayload(HeartbeatSchema, 256), event: jsonPayload(EventSchema) };

export const MEASUREMENT = 'lpg_scan';

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'scan': {
      const p = parse.scan(payload);
      if (!p.ok) return p;
      const v = p.value;
      const fields: Record<string, number | string> = {
        tag_id: v.tagId,
        operation: v.operation,
        weight_before_kg: v.weightBeforeKg,
        weight_after_kg: v.weightAfterKg,
      };
      if (v.station) fields.station = v.station;
      return { ok: true, messages: [{ type: 'reading', measurement: MEASUREMENT, fields, ts: deviceTime(v.ts, ctx.receivedAt) }] };
    }
    case 'heartbeat': {
      const p = parse.heartbeat(payload);
      return p.ok ? { ok: true, messages: [] } : p;
    }
    case 'event': {
      const p = parse.event(payload);
      if (!p.ok) return p;
      return {
        ok: true,
        messages: [
          {
            type: 'event',
            event: p.value.event,
            data: p.value.code ? { code: p.value.code } : {},
            ts: deviceTime(p.value.ts, ctx.receivedAt),
          },
        ],
      };
    }
    case 'status':
      return decodeStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unknown_channel', detail: `lpg-reader has no channel '${channel}'` };
  }
}
