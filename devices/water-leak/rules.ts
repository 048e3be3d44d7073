import { Type, type Static } from '@sinclair/typebox';
import { healthEvent, lowBattery } from '../health.js';
import type { Normalized, RuleContext, RuleOutput, Rules } from '../types.js';

export const WATER_LEAK = 'water.leak';

export const SettingsSchema = Type.Object(
  {
    lowBatteryPercent: Type.Number({
      minimum: 1,
      maximum: 90,
      default: 15,
      description: 'battery % below which device.low_battery is raised',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type Settings = Static<typeof SettingsSchema>;

/**
 * Wet raises `water.leak` for this device (a `leak` event, or a reading with `leak: true` after a
 * dry one), dry resolves it: sensors report the edge as an event or only their state, and both
 * count. Tampering, faults and a low battery are device-health incidents.
 */
export function createRules(settings: Settings): Rules {
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    const id = ctx.device.id;
    const key = `${WATER_LEAK}:${id}`;
    const out: RuleOutput[] = [];
    const wet = (ts: number): void => {
      if (ctx.state.wet) return;
      ctx.state.wet = true;
      out.push({ action: 'raise', category: WATER_LEAK, correlationKey: key, occurredAt: ts, facts: { device: id }, snapshotOfCell: true });
    };
    const dry = (ts: number): void => {
      if (!ctx.state.wet) return;
      ctx.state.wet = false;
      out.push({ action: 'resolve', correlationKey: key, occurredAt: ts, reason: 'the sensor is dry again' });
    };
    if (message.type === 'reading') {
      if (message.fields.leak === true) wet(message.ts);
      else if (message.fields.leak === false) dry(message.ts);
      if (typeof message.fields.battery === 'number')
        out.push(...lowBattery(message.fields.battery, settings.lowBatteryPercent, message.ts, ctx));
      return out;
    }
    if (message.type !== 'event') return out;
    if (message.event === 'leak') wet(message.ts);
    else if (message.event === 'dry') dry(message.ts);
    else if (message.event === 'low_battery')
      out.push(
        ...lowBattery(typeof message.data.battery === 'number' ? message.data.battery : 0, settings.lowBatteryPercent, message.ts, ctx),
      );
    else out.push(...healthEvent(message, id, { detail: 'opened or removed', cleared: 'closed again' }));
    return out;
  };
}
