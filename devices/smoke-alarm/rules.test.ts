import { describe, expect, it } from 'vitest';
import type { DeviceInfo } from '../types.js';
import { rules, SMOKE_ALARM } from './rules.js';

const device: DeviceInfo = { id: 'smoke-01', kind: 'smoke-alarm', grid: '110105001002001' };

describe('smoke-alarm rules', () => {
  it('raises fire.smoke_alarm keyed to the device on alarm, with the smoke density as a fact', () => {
    expect(rules({ type: 'event', event: 'alarm', data: { smokeDensity: 2.5 }, ts: 1000 }, device)).toEqual([
      { action: 'raise', category: SMOKE_ALARM, correlationKey: 'fire.smoke_alarm:smoke-01', occurredAt: 1000, facts: { event: 'alarm', smokeDensity: 2.5 } },
    ]);
  });

  it('resolves the same key on clear', () => {
    expect(rules({ type: 'event', event: 'clear', data: {}, ts: 2000 }, device)).toEqual([
      { action: 'resolve', correlationKey: 'fire.smoke_alarm:smoke-01', occurredAt: 2000, reason: 'device reported clear' },
    ]);
  });

  it('raises nothing for readings, self-tests, faults or status', () => {
    expect(rules({ type: 'event', event: 'test', data: {}, ts: 1 }, device)).toEqual([]);
    expect(rules({ type: 'event', event: 'fault', data: { code: 'E1' }, ts: 1 }, device)).toEqual([]);
    expect(rules({ type: 'reading', measurement: 'smoke_alarm', fields: { smoke_density: 9 }, ts: 1 }, device)).toEqual([]);
    expect(rules({ type: 'status', online: false, ts: 1 }, device)).toEqual([]);
  });
});
