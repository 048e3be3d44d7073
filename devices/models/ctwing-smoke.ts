/**
 * An NB-IoT smoke alarm on China Telecom CTWing whose product is defined with an object model
 * (物模型) or an LwM2M profile carrying the smoke properties `smoke_state` (0 normal, 1 alarm)
 * and `battery_value` (%), as the platform's smoke-detector product template names them. CTWing
 * pushes them as a `dataReport` (or an `eventReport` for an alarm event service): the properties
 * directly in `payload`, or, for a profile, in `payload.serviceData`. Only the properties a
 * report carries are read; a product whose object model names them otherwise is a model file of
 * its own (copy this one).
 */
import { defineModel, type KindMessage, ModelDecodeError, numeric } from './types.js';

function properties(json: Record<string, unknown> | undefined): Record<string, unknown> {
  const p = json?.payload;
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new ModelDecodeError('no CTWing payload');
  const data = (p as Record<string, unknown>).serviceData;
  if (data !== undefined) {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ModelDecodeError('serviceData is not an object');
    return data as Record<string, unknown>;
  }
  return p as Record<string, unknown>;
}

export const ctwingSmoke = defineModel({
  model: 'ctwing-smoke',
  vendor: 'any (CTWing object model)',
  description: 'NB-IoT smoke alarm reporting smoke_state and battery_value through CTWing',
  source: 'ctwing',
  kind: 'smoke-alarm',
  decode({ json, ts }) {
    const p = properties(json);
    if ('APPdata' in p) throw new ModelDecodeError('a transparent (APPdata) product: its bytes need a model of their own');
    const at = ts !== undefined ? { ts } : {};
    const out: KindMessage[] = [];
    if (p.battery_value !== undefined) {
      const battery = numeric(p.battery_value);
      if (battery === undefined || battery < 0 || battery > 100) throw new ModelDecodeError('battery_value is not 0..100');
      out.push({ channel: 'event', payload: { ...at, event: 'low_battery', battery } });
    }
    if (p.smoke_state !== undefined) {
      const s = p.smoke_state;
      if (s !== 0 && s !== 1 && s !== '0' && s !== '1')
        throw new ModelDecodeError(`smoke_state ${JSON.stringify(s)?.slice(0, 40)} is not 0 or 1`);
      out.push({ channel: 'event', payload: { ...at, event: s === 1 || s === '1' ? 'alarm' : 'clear' } });
    }
    return out; // a report of other properties (signal, temperature): nothing of the kind's
  },
  examples: [
    {
      input: { json: { messageType: 'dataReport', payload: { smoke_state: 1, battery_value: 92 } } },
      expect: [
        { channel: 'event', payload: { event: 'low_battery', battery: 92 } },
        { channel: 'event', payload: { event: 'alarm' } },
      ],
    },
    {
      input: { json: { messageType: 'dataReport', serviceId: 1, payload: { serviceId: 1, serviceData: { smoke_state: 0 } } } },
      expect: [{ channel: 'event', payload: { event: 'clear' } }],
    },
  ],
});
