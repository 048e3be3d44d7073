import { Type, type Static } from '@sinclair/typebox';
import { healthEvent, lowBattery } from '../health.js';
import type { Normalized, RuleContext, RuleOutput, Rules } from '../types.js';

export const SMOKE_ALARM = 'fire.smoke_alarm';

export const SettingsSchema = Type.Object(
  {
    lowBatteryPercent: Type.Number({
      minimum: 1,
      maximum: 90,
      default: 15,
      description: 'battery % below which device.low_battery is raised, 1..90',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type Settings = Static<typeof SettingsSchema>;

/**
 * An alarm raises `fire.smoke_alarm` for this device (repeats fold into the open incident) and
 * asks for a snapshot of the cell; a clear resolves it. One key per device: two detectors in one
 * stairwell are two incidents the centre may want to see separately. Faults, tampering and a low
 * battery are device-health incidents, each resolved by its own all-clear.
 */
export function createRules(settings: Settings): Rules {
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    const id = ctx.device.id;
    const out: RuleOutput[] = [];
    if (message.type === 'reading' && typeof message.fields.battery === 'number') {
      out.push(...lowBattery(message.fields.battery, settings.lowBatteryPercent, message.ts, ctx));
    }
    if (message.type !== 'event') return out;
    const { event, data, ts } = message;
    switch (event) {
      case 'alarm': {
        const facts: Record<string, number | string> = { event: 'alarm' };
        if (typeof data.smokeDensity === 'number') facts.smokeDensity = data.smokeDensity;
        out.push({
          action: 'raise',
          category: SMOKE_ALARM,
          correlationKey: `${SMOKE_ALARM}:${id}`,
          occurredAt: ts,
          facts,
          snapshotOfCell: true,
        });
        break;
      }
      case 'clear':
        out.push({ action: 'resolve', correlationKey: `${SMOKE_ALARM}:${id}`, occurredAt: ts, reason: 'device reported clear' });
        break;
      case 'low_battery':
        out.push(...lowBattery(typeof data.battery === 'number' ? data.battery : 0, settings.lowBatteryPercent, ts, ctx));
        break;
      default: // fault, tamper and their all-clears; a self-test ('test') raises nothing
        out.push(...healthEvent(message, id, { detail: 'removed from its base', cleared: 'back on its base' }));
        break;
    }
    return out;
  };
}
