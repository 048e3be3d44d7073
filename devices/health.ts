/** Device-health rules shared by battery-powered kinds. */
import type { RuleContext, RuleOutput } from './types.js';

/** Percentage points above the threshold a battery must climb back before the alert clears. */
export const BATTERY_HYSTERESIS = 5;

/**
 * Raises `device.low_battery` once when the level falls below `threshold`, and resolves it only
 * when it is back above threshold + hysteresis, so a level hovering at the line is one incident.
 */
export function lowBattery(level: number, threshold: number, ts: number, ctx: RuleContext): RuleOutput[] {
  const key = `device.low_battery:${ctx.device.id}`;
  if (!ctx.state.lowBattery && level < threshold) {
    ctx.state.lowBattery = true;
    return [{ action: 'raise', category: 'device.low_battery', correlationKey: key, occurredAt: ts, facts: { battery: level, threshold } }];
  }
  if (ctx.state.lowBattery && level >= threshold + BATTERY_HYSTERESIS) {
    ctx.state.lowBattery = false;
    return [{ action: 'resolve', correlationKey: key, occurredAt: ts, reason: `battery back at ${level}%` }];
  }
  return [];
}
