import type { DeviceInfo, IncidentSignal, Normalized } from '../types.js';

export const SMOKE_ALARM = 'fire.smoke_alarm';

/**
 * An alarm raises `fire.smoke_alarm` for this device (repeats fold into the open incident);
 * a clear resolves it. One key per device: two detectors in one stairwell are two incidents the
 * centre may want to see separately; correlation across devices is the platform's to do.
 */
export function rules(message: Normalized, device: DeviceInfo): IncidentSignal[] {
  if (message.type !== 'event') return [];
  const correlationKey = `${SMOKE_ALARM}:${device.id}`;
  if (message.event === 'alarm') {
    const facts: Record<string, number | string> = { event: 'alarm' };
    if (typeof message.data.smokeDensity === 'number') facts.smokeDensity = message.data.smokeDensity;
    return [{ action: 'raise', category: SMOKE_ALARM, correlationKey, occurredAt: message.ts, facts }];
  }
  if (message.event === 'clear') {
    return [{ action: 'resolve', correlationKey, occurredAt: message.ts, reason: 'device reported clear' }];
  }
  return [];
}
