/**
 * Heiman HS1CG combustible gas detector on zigbee2mqtt: exposes `gas` (boolean alarm),
 * `battery_low`, `tamper`, `linkquality` (zigbee2mqtt's device page; mains powered, no
 * concentration). A gas alarm reads as the kind's alarm level, no alarm as clean air.
 */
import { defineModel, type KindMessage, ModelDecodeError } from './types.js';

/** What the detector's alarm means in %LEL: it trips at its own set point, reported here as the kind's alarm level. */
const ALARM_LEL = 30;

export const heimanHs1cg = defineModel({
  model: 'heiman-hs1cg',
  vendor: 'Heiman',
  description: 'HS1CG combustible gas detector (Zigbee, through zigbee2mqtt)',
  source: 'zigbee2mqtt',
  kind: 'gas-sensor',
  matches: ['HS1CG', 'HS1CG-E', 'HS1CG-M', 'HS3CG'],
  decode({ json, ts }) {
    if (!json) throw new ModelDecodeError('no zigbee2mqtt state');
    if (typeof json.gas !== 'boolean') throw new ModelDecodeError('state has no boolean gas');
    const at = ts !== undefined ? { ts } : {};
    const out: KindMessage[] = [{ channel: 'telemetry', payload: { ...at, lel: json.gas ? ALARM_LEL : 0, gas: 'natural_gas' } }];
    if (typeof json.tamper === 'boolean')
      out.push({ channel: 'event', payload: { ...at, event: json.tamper ? 'tamper' : 'tamper_clear' } });
    return out;
  },
  examples: [
    {
      input: { json: { gas: true, tamper: false, linkquality: 140 } },
      expect: [
        { channel: 'telemetry', payload: { lel: 30, gas: 'natural_gas' } },
        { channel: 'event', payload: { event: 'tamper_clear' } },
      ],
    },
  ],
});
