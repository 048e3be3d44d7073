/** The status channel every gridedge JSON device shares: `{"state":"online"|"offline"}` or the bare word (Wills). */
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../core/schema.js';
import { deviceTime, jsonPayload } from './payload.js';
import type { DecodeContext, DecodeResult } from './types.js';

export const StatusSchema = Type.Union([
  Type.Object(
    {
      ts: Type.Optional(Type.Integer({ minimum: 0, description: 'device time in milliseconds since the Unix epoch' })),
      state: StringEnum(['online', 'offline'] as const),
    },
    { additionalProperties: false },
  ),
  // Simple firmwares put the bare word in their Last Will.
  Type.Union([Type.Literal('online'), Type.Literal('offline')]),
]);

const parseStatus = jsonPayload(StatusSchema, 256);

export function decodeStatus(payload: Buffer, ctx: DecodeContext): DecodeResult {
  const p = parseStatus(payload);
  if (!p.ok) return p;
  const v = p.value;
  const state = typeof v === 'string' ? v : v.state;
  const ts = typeof v === 'string' ? undefined : v.ts;
  return { ok: true, messages: [{ type: 'status', online: state === 'online', ts: deviceTime(ts, ctx.receivedAt) }] };
}
