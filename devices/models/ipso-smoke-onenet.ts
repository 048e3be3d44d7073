/**
 * An NB-IoT smoke alarm on OneNET that reports LwM2M/IPSO objects, OneNET naming each data
 * stream by its path `object_instance_resource`: 3200/0/5500 (IPSO Digital Input State: true
 * while the alarm sounds) and 3/0/9 (LwM2M Device, Battery Level %). Each OneNET push carries one
 * data point: this model turns each into the kind's event.
 */
import { defineModel, ModelDecodeError, numeric } from './types.js';

function truthy(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  return undefined;
}

export const ipsoSmokeOnenet = defineModel({
  model: 'onenet-ipso-smoke',
  vendor: 'any (LwM2M/IPSO)',
  description: 'NB-IoT smoke alarm reporting IPSO Digital Input 3200 and Device 3 through OneNET',
  source: 'onenet',
  kind: 'smoke-alarm',
  decode({ json, ts }) {
    const ds = json?.ds_id;
    if (typeof ds !== 'string') throw new ModelDecodeError('no ds_id');
    const at = ts !== undefined ? { ts } : {};
    if (ds === '3200_0_5500') {
      const on = truthy(json!.value);
      if (on === undefined) throw new ModelDecodeError(`3200_0_5500 value ${JSON.stringify(json!.value)?.slice(0, 40)} is not a boolean`);
      return [{ channel: 'event', payload: { ...at, event: on ? 'alarm' : 'clear' } }];
    }
    if (ds === '3_0_9') {
      const battery = numeric(json!.value);
      if (battery === undefined || battery < 0 || battery > 100) throw new ModelDecodeError('3_0_9 battery level is not 0..100');
      return [{ channel: 'event', payload: { ...at, event: 'low_battery', battery } }];
    }
    return []; // another resource (signal strength, firmware): nothing of the kind's
  },
  examples: [
    { input: { json: { ds_id: '3200_0_5500', value: 1 } }, expect: [{ channel: 'event', payload: { event: 'alarm' } }] },
    { input: { json: { ds_id: '3_0_9', value: 76 } }, expect: [{ channel: 'event', payload: { event: 'low_battery', battery: 76 } }] },
  ],
});
