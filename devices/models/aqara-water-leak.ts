/**
 * Aqara (Xiaomi) water leak sensor SJCGQ11LM on zigbee2mqtt: exposes `water_leak` (boolean),
 * `battery` (%), `battery_low`, `voltage`, `device_temperature`, `linkquality` (zigbee2mqtt's
 * device page for SJCGQ11LM). The state is published whole on every change.
 */
import { defineModel, ModelDecodeError } from './types.js';

export const aqaraWaterLeak = defineModel({
  model: 'aqara-water-leak',
  vendor: 'Aqara',
  description: 'SJCGQ11LM water leak sensor (Zigbee, through zigbee2mqtt)',
  source: 'zigbee2mqtt',
  kind: 'water-leak',
  matches: ['SJCGQ11LM', 'SJCGQ12LM'],
  decode({ json, ts }) {
    if (!json) throw new ModelDecodeError('no zigbee2mqtt state');
    if (typeof json.water_leak !== 'boolean') throw new ModelDecodeError('state has no boolean water_leak');
    const battery = typeof json.battery === 'number' ? Math.max(0, Math.min(100, json.battery)) : undefined;
    return [
      {
        channel: 'telemetry',
        payload: { ...(ts !== undefined ? { ts } : {}), leak: json.water_leak, ...(battery !== undefined ? { battery } : {}) },
      },
    ];
  },
  examples: [
    {
      input: { json: { water_leak: true, battery: 83, battery_low: false, voltage: 2985, device_temperature: 24, linkquality: 102 } },
      expect: [{ channel: 'telemetry', payload: { leak: true, battery: 83 } }],
    },
  ],
});
