/** Helpers every JSON-speaking device kind shares: parse, size guard, schema check, timestamps. */
import type { Static, TSchema } from '@sinclair/typebox';
import { compile, describeErrors, payloadAjv } from '../core/schema.js';
import type { RejectReason } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024;

/** Compiles once; the returned parser is called for every message on the hot path. */
export function jsonPayload<S extends TSchema>(schema: S, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): (payload: Buffer) => Parsed<Static<S>> {
  const validate = compile(payloadAjv, schema);
  return (payload) => {
    if (payload.length > maxBytes) {
      return { ok: false, reason: 'too_large', detail: `payload is ${payload.length} bytes, limit ${maxBytes}` };
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return { ok: false, reason: 'malformed_json', detail: (err as Error).message };
    }
    if (!validate(value)) {
      return { ok: false, reason: 'schema', detail: describeErrors(validate.errors).join('; ') };
    }
    return { ok: true, value };
  };
}

/**
 * Device clocks drift and some reset to 1970 after a power cut. Trust the device's timestamp
 * only within `maxSkewMs` of arrival; otherwise the arrival time is the better truth.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export function deviceTime(ts: number | undefined, receivedAt: number, maxSkewMs = MAX_CLOCK_SKEW_MS): number {
  if (ts === undefined || Math.abs(ts - receivedAt) > maxSkewMs) return receivedAt;
  return ts;
}
