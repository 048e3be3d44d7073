/** Device-health rules shared by battery-powered kinds. */
import type { DeviceEvent, RuleContext, RuleOutput } from './types.js';

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

/**
 * The health events every gridedge JSON device may send: `fault` / `fault_clear` raise and
 * resolve `device.fault` (with the vendor code), `tamper` / `tamper_clear` raise and resolve
 * `device.tamper`. Returns nothing for any other event, so a kind handles its own after this.
 */
export function healthEvent(message: DeviceEvent, deviceId: string, tamper: { detail: string; cleared: string }): RuleOutput[] {
  const { event, data, ts } = message;
  switch (event) {
    case 'fault':
      return [
        {
          action: 'raise',
          category: 'device.fault',
          correlationKey: `device.fault:${deviceId}`,
          occurredAt: ts,
          facts: { code: typeof data.code === 'string' ? data.code : 'unknown' },
        },
      ];
    case 'fault_clear':
      return [
        { action: 'resolve', correlationKey: `device.fault:${deviceId}`, occurredAt: ts, reason: 'device reported the fault cleared' },
      ];
    case 'tamper':
      return [
        {
          action: 'raise',
          category: 'device.tamper',
          correlationKey: `device.tamper:${deviceId}`,
          occurredAt: ts,
          facts: { detail: tamper.detail },
        },
      ];
    case 'tamper_clear':
      return [{ action: 'resolve', correlationKey: `device.tamper:${deviceId}`, occurredAt: ts, reason: tamper.cleared }];
    default:
      return [];
  }
}
