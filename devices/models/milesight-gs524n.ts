/**
 * Milesight GS524N LoRaWAN smoke detector. Frame layout from Milesight's published decoder
 * (SensorDecoders, GS_Series/GS524N): 6 bytes — firmware/protocol version, sensor type (high
 * nibble, 1 = smoke) and message type (low nibble), battery %, smoke concentration %
 * (obscuration), temperature °C, and a checksum byte that makes the six bytes sum to 0 mod 256.
 * Its sample `221E64001C40` is a test alarm with a full battery at 28 °C.
 */
import { byteAt, defineModel, type KindMessage, ModelDecodeError } from './types.js';

const EVENTS: Record<number, string | undefined> = {
  1: 'alarm',
  2: 'clear', // silenced
  4: 'low_battery',
  5: 'fault',
  7: 'clear', // back to normal
  10: 'tamper', // removed from its base
  11: 'tamper_clear', // installed again
  14: 'test',
  15: 'test',
};

/** Obscuration per metre (%/m) as optical density (dB/m), the smoke-alarm kind's unit: −10·log10(1 − p). */
export function obscurationToDbPerMetre(percent: number): number {
  if (percent <= 0) return 0;
  if (percent >= 99) return 20;
  return Math.min(20, Math.round(-10 * Math.log10(1 - percent / 100) * 1000) / 1000);
}

export const milesightGs524n = defineModel({
  model: 'milesight-gs524n',
  vendor: 'Milesight',
  description: 'GS524N smoke detector (LoRaWAN, through ChirpStack)',
  source: 'chirpstack',
  kind: 'smoke-alarm',
  decode({ bytes, ts }) {
    if (!bytes) throw new ModelDecodeError('no frame bytes');
    if (bytes.length !== 6) throw new ModelDecodeError(`frame of ${bytes.length} bytes, expected 6`);
    let sum = 0;
    for (const b of bytes) sum = (sum + b) & 0xff;
    if (sum !== 0) throw new ModelDecodeError('checksum does not sum to 0');
    const typeByte = byteAt(bytes, 1, 'message type');
    if (typeByte >> 4 !== 1) throw new ModelDecodeError(`sensor type ${typeByte >> 4} is not a smoke sensor (1)`);
    const message = typeByte & 0x0f;
    const battery = Math.min(100, byteAt(bytes, 2, 'battery'));
    const smokeDensity = obscurationToDbPerMetre(byteAt(bytes, 3, 'concentration'));
    const raw = byteAt(bytes, 4, 'temperature');
    const temperature = raw > 127 ? raw - 256 : raw;
    const at = ts !== undefined ? { ts } : {};
    const out: KindMessage[] = [{ channel: 'telemetry', payload: { ...at, battery, smokeDensity, temperature } }];
    const event = EVENTS[message];
    if (event)
      out.push({
        channel: 'event',
        payload: { ...at, event, ...(event === 'alarm' ? { smokeDensity } : {}), ...(event === 'low_battery' ? { battery } : {}) },
      });
    return out;
  },
  examples: [
    {
      input: { bytes: Buffer.from('221E64001C40', 'hex'), fPort: 85 },
      expect: [
        { channel: 'telemetry', payload: { battery: 100, smokeDensity: 0, temperature: 28 } },
        { channel: 'event', payload: { event: 'test' } },
      ],
    },
  ],
});
