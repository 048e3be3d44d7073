import { describe, expect, it } from 'vitest';
import type { DecodeResult, DeviceInfo } from '../types.js';
import { decode } from './codec.js';

const device: DeviceInfo = { id: 'smoke-01', kind: 'smoke-alarm', grid: '110105001002001' };
const now = Date.UTC(2026, 10, 22, 12, 0, 0);
const ctx = { device, receivedAt: now };
const run = (channel: string, payload: unknown): DecodeResult =>
  decode(channel, Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), ctx);

function rejected(result: DecodeResult): { reason: string; detail: string } {
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.messages)}`);
  return result;
}

describe('smoke-alarm codec', () => {
  it('decodes telemetry into one reading with snake_case fields and the device time', () => {
    const result = run('telemetry', { ts: now - 1000, battery: 87.5, smokeDensity: 0.02, temperature: 23.1 });
    expect(result).toEqual({
      ok: true,
      messages: [
        { type: 'reading', measurement: 'smoke_alarm', fields: { battery: 87.5, smoke_density: 0.02, temperature: 23.1 }, ts: now - 1000 },
      ],
    });
  });

  it('uses the arrival time when the device clock is off by more than five minutes, or absent', () => {
    const skewed = run('telemetry', { ts: 0, battery: 50, smokeDensity: 0 });
    expect(skewed.ok && skewed.messages[0]!.ts).toBe(now);
    const absent = run('telemetry', { battery: 50, smokeDensity: 0 });
    expect(absent.ok && absent.messages[0]!.ts).toBe(now);
  });

  it('decodes each event kind', () => {
    for (const event of ['alarm', 'clear', 'fault', 'fault_clear', 'test', 'low_battery', 'tamper', 'tamper_clear']) {
      const result = run('event', { event, ts: now });
      expect(result).toEqual({ ok: true, messages: [{ type: 'event', event, data: {}, ts: now }] });
    }
    const alarm = run('event', { event: 'alarm', smokeDensity: 3.2 });
    expect(alarm.ok && alarm.messages[0]).toMatchObject({ event: 'alarm', data: { smokeDensity: 3.2 } });
    const fault = run('event', { event: 'fault', code: 'E07' });
    expect(fault.ok && fault.messages[0]).toMatchObject({ event: 'fault', data: { code: 'E07' } });
  });

  it('decodes status as an object or as the bare word simple firmwares put in their Will', () => {
    expect(run('status', { state: 'online' })).toMatchObject({ ok: true, messages: [{ type: 'status', online: true }] });
    expect(run('status', '"offline"')).toMatchObject({ ok: true, messages: [{ type: 'status', online: false }] });
  });

  it('rejects malformed JSON and binary garbage', () => {
    expect(rejected(run('telemetry', '{"battery": 5,'))).toMatchObject({ reason: 'malformed_json' });
    expect(rejected(run('event', Buffer.from([0xff, 0x00, 0x13, 0x37])))).toMatchObject({ reason: 'malformed_json' });
  });

  it('rejects wrong field types, naming the field', () => {
    const r = rejected(run('telemetry', { battery: 'full', smokeDensity: 0 }));
    expect(r.reason).toBe('schema');
    expect(r.detail).toMatch(/^battery: "full" is not of the right type/);
  });

  it('rejects out-of-range values, missing fields, unknown fields and unknown events', () => {
    expect(rejected(run('telemetry', { battery: 1e9, smokeDensity: 0 })).detail).toMatch(/^battery: 1000000000 is out of range/);
    expect(rejected(run('telemetry', { battery: 50 })).detail).toMatch(/^smokeDensity: missing/);
    expect(rejected(run('telemetry', { battery: 50, smokeDensity: 0, extra: 1 })).detail).toMatch(/^extra: unknown key/);
    expect(rejected(run('event', { event: 'explode' })).detail).toBe(
      'event: "explode" is not allowed (expected one of: alarm, clear, fault, fault_clear, test, low_battery, tamper, tamper_clear)',
    );
    expect(rejected(run('telemetry', [1, 2, 3])).reason).toBe('schema');
    expect(rejected(run('telemetry', null)).reason).toBe('schema');
  });

  it('rejects oversized payloads before parsing them', () => {
    const huge = Buffer.alloc(64 * 1024, 0x20);
    expect(rejected(run('telemetry', huge))).toMatchObject({ reason: 'too_large' });
  });

  it('rejects a channel the kind does not have', () => {
    expect(rejected(run('video', {}))).toMatchObject({ reason: 'unknown_channel' });
  });
});
