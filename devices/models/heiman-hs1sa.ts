/**
 * Heiman HS1SA smoke detector on zigbee2mqtt (IAS zone). z2m exposes `smoke`, `battery_low`,
 * `tamper`, `battery` (%), `linkquality` (zigbee2mqtt's device page for HS1SA). The state is
 * published whole on every change, so an alarm is `smoke: true` and its end `smoke: false`.
 */
import { defineModel, type KindMessage, ModelDecodeError } from './types.js';

export const heimanHs1sa = defineModel({
  model: 'heiman-hs1sa',
  vendor: 'Heiman',
  description: 'HS1SA smoke detector (Zigbee, through zigbee2mqtt)',
  source: 'zigbee2mqtt',
  kind: 'smoke-alarm',
  matches: ['HS1SA', 'HS1SA-E', 'HS1SA-M', 'HS3SA'],
  decode({ json, ts }) {
    if (!json) throw new ModelDecodeError('no zigbee2mqtt state');
    const smoke = json.smoke;
    if (typeof smoke !== 'boolean') throw new ModelDecodeError('state has no boolean smoke');
    const at = ts !== undefined ? { ts } : {};
    const battery = typeof json.battery === 'number' ? Math.max(0, Math.min(100, json.battery)) : json.battery_low === true ? 10 : 100;
    const out: KindMessage[] = [
      // z2m has no density: an alarm reads as a clear alarm level, quiet as clean air.
      { channel: 'telemetry', payload: { ...at, battery, smokeDensity: smoke ? 2.5 : 0 } },
      { channel: 'event', payload: { ...at, event: smoke ? 'alarm' : 'clear', ...(smoke ? { smokeDensity: 2.5 } : {}) } },
    ];
    if (typeof json.tamper === 'boolean')
      out.push({ channel: 'event', payload: { ...at, event: json.tamper ? 'tamper' : 'tamper_clear' } });
    return out;
  },
  examples: [
    {
      input: { json: { smoke: true, battery: 87, battery_low: false, tamper: false, linkquality: 96 } },
      expect: [
        { channel: 'telemetry', payload: { battery: 87, smokeDensity: 2.5 } },
        { channel: 'event', payload: { event: 'alarm', smokeDensity: 2.5 } },
        { channel: 'event', payload: { event: 'tamper_clear' } },
      ],
    },
  ],
});
