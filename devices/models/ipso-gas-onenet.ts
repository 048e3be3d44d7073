/**
 * An NB-IoT combustible gas detector on OneNET that reports LwM2M/IPSO objects: 3300/0/5700
 * (IPSO Generic Sensor, Sensor Value, in %LEL) and 3200/0/5500 (Digital Input State: true in
 * alarm). A concentration becomes the kind's reading; an alarm without one reads as the kind's
 * alarm level.
 */
import { defineModel, ModelDecodeError, numeric } from './types.js';

const ALARM_LEL = 30;

export const ipsoGasOnenet = defineModel({
  model: 'onenet-ipso-gas',
  vendor: 'any (LwM2M/IPSO)',
  description: 'NB-IoT gas detector reporting IPSO Generic Sensor 3300 (%LEL) through OneNET',
  source: 'onenet',
  kind: 'gas-sensor',
  decode({ json, ts }) {
    const ds = json?.ds_id;
    if (typeof ds !== 'string') throw new ModelDecodeError('no ds_id');
    const at = ts !== undefined ? { ts } : {};
    if (ds === '3300_0_5700') {
      const lel = numeric(json!.value);
      if (lel === undefined || lel < 0 || lel > 100) throw new ModelDecodeError('3300_0_5700 is not a %LEL value 0..100');
      return [{ channel: 'telemetry', payload: { ...at, lel, gas: 'natural_gas' } }];
    }
    if (ds === '3200_0_5500') {
      const v = json!.value;
      if (v === true || v === 1 || v === '1') return [{ channel: 'telemetry', payload: { ...at, lel: ALARM_LEL, gas: 'natural_gas' } }];
      if (v === false || v === 0 || v === '0') return [];
      throw new ModelDecodeError('3200_0_5500 value is not a boolean');
    }
    return [];
  },
  examples: [
    {
      input: { json: { ds_id: '3300_0_5700', value: 27.5 } },
      expect: [{ channel: 'telemetry', payload: { lel: 27.5, gas: 'natural_gas' } }],
    },
  ],
});
