import { describe, expect, it } from 'vitest';
import type { DeviceInfo, Normalized, RuleContext } from '../types.js';
import { createRules, SMOKE_ALARM } from './rules.js';

const device: DeviceInfo = { id: 'smoke-01', kind: 'smoke-alarm', grid: '110105001002001' };
const ctx = (): RuleContext => ({ device, options: {}, state: {} });
const event = (name: string, data: Record<string, number | string> = {}, ts = 1000): Normalized => ({
  type: 'event',
  event: name,
  data,
  ts,
});

describe('smoke-alarm rules', () => {
  const rules = createRules({ lowBatteryPercent: 15 });

  it('raises fire.smoke_alarm keyed to the device on alarm, with the smoke density, and asks for a snapshot of the cell', () => {
    expect(rules(event('alarm', { smokeDensity: 2.5 }), ctx())).toEqual([
      {
        action: 'raise',
        category: SMOKE_ALARM,
        correlationKey: 'fire.smoke_alarm:smoke-01',
        occurredAt: 1000,
        facts: { event: 'alarm', smokeDensity: 2.5 },
        snapshotOfCell: true,
      },
    ]);
  });

  it('resolves the same key on clear', () => {
    expect(rules(event('clear', {}, 2000), ctx())).toEqual([
      { action: 'resolve', correlationKey: 'fire.smoke_alarm:smoke-01', occurredAt: 2000, reason: 'device reported clear' },
    ]);
  });

  it('raises and resolves device health: fault, tamper', () => {
    expect(rules(event('fault', { code: 'E07' }), ctx())).toEqual([
      { action: 'raise', category: 'device.fault', correlationKey: 'device.fault:smoke-01', occurredAt: 1000, facts: { code: 'E07' } },
    ]);
    expect(rules(event('fault_clear'), ctx())[0]).toMatchObject({ action: 'resolve', correlationKey: 'device.fault:smoke-01' });
    expect(rules(event('tamper'), ctx())[0]).toMatchObject({
      action: 'raise',
      category: 'device.tamper',
      correlationKey: 'device.tamper:smoke-01',
    });
    expect(rules(event('tamper_clear'), ctx())[0]).toMatchObject({ action: 'resolve', correlationKey: 'device.tamper:smoke-01' });
  });

  it('raises low battery once below the threshold and clears only 5 points above it', () => {
    const c = ctx();
    const reading = (battery: number): Normalized => ({
      type: 'reading',
      measurement: 'smoke_alarm',
      fields: { battery, smoke_density: 0 },
      ts: 1,
    });
    const actions = [16, 14.9, 14, 16, 19.9, 20, 19, 14].map((b) => rules(reading(b), c).map((o) => o.action));
    expect(actions).toEqual([[], ['raise'], [], [], [], ['resolve'], [], ['raise']]);
    expect(rules(event('low_battery', { battery: 9 }), ctx())[0]).toMatchObject({ action: 'raise', facts: { battery: 9, threshold: 15 } });
  });

  it('raises nothing for self-tests, status or healthy readings', () => {
    expect(rules(event('test'), ctx())).toEqual([]);
    expect(rules({ type: 'status', online: false, ts: 1 }, ctx())).toEqual([]);
    expect(rules({ type: 'reading', measurement: 'smoke_alarm', fields: { battery: 90, smoke_density: 9 }, ts: 1 }, ctx())).toEqual([]);
  });
});
