/**
 * Milesight GS101 LoRaWAN gas detector (mains powered, with a valve and a relay output). Frames
 * are channel/type/value triples, as Milesight's published decoder defines them
 * (SensorDecoders, GS_Series/GS101): 03 67 temperature (int16 LE, 0.1 °C), 04 68 humidity
 * (0.5 %RH), 05 8E gas status (0 normal, 1 abnormal), 06 01 valve (0 closed, 1 open), 07 01
 * relay, 08 90 life remaining (uint32 s), FF 3F alarm (2 sensor failure, 3 recovered, 4 about
 * to fail, 5 failed). The detector reports alarm or normal, not a concentration: an abnormal
 * status reads as the kind's alarm level.
 *
 * Valve control is a downlink on port 85, as Milesight's published encoder writes it
 * (GS_Series/GS101/GS101_Encoder.js, setValveControl): `06 00 <status> FF`, status 0 off,
 * 1 on. valve_close sends off, the state its uplink `06 01 00` reports and this model reads as
 * closed; the detector is mains powered (Class C), so the downlink arrives within seconds and
 * the frame that reports the valve off confirms the command.
 */
import { byteAt, defineModel, type KindMessage, ModelDecodeError } from './types.js';

const ALARM_LEL = 30;
const FAULTS: Record<number, string> = { 2: 'fault', 3: 'fault_clear', 5: 'fault' };

export const milesightGs101 = defineModel({
  model: 'milesight-gs101',
  vendor: 'Milesight',
  description: 'GS101 gas detector with valve output (LoRaWAN, through ChirpStack)',
  source: 'chirpstack',
  kind: 'gas-sensor',
  decode({ bytes, ts }) {
    if (!bytes || bytes.length === 0) throw new ModelDecodeError('no frame bytes');
    const at = ts !== undefined ? { ts } : {};
    const telemetry: Record<string, unknown> = { ...at, gas: 'natural_gas' };
    const events: KindMessage[] = [];
    let i = 0;
    while (i < bytes.length) {
      const id = byteAt(bytes, i, 'channel id');
      const type = byteAt(bytes, i + 1, 'channel type');
      i += 2;
      const need = (n: number) => {
        if (i + n > bytes.length) throw new ModelDecodeError(`channel ${hex(id)} ${hex(type)} needs ${n} bytes, ${bytes.length - i} left`);
      };
      if (id === 0x03 && type === 0x67) {
        need(2);
        i += 2; // temperature: not a field of the gas-sensor kind
      } else if (id === 0x04 && type === 0x68) {
        need(1);
        i += 1;
      } else if (id === 0x05 && type === 0x8e) {
        need(1);
        telemetry.lel = bytes[i]! === 1 ? ALARM_LEL : 0;
        i += 1;
      } else if (id === 0x06 && type === 0x01) {
        need(1);
        telemetry.valve = bytes[i]! === 0 ? 'closed' : 'open';
        i += 1;
      } else if (id === 0x07 && type === 0x01) {
        need(1);
        i += 1;
      } else if (id === 0x08 && type === 0x90) {
        need(4);
        i += 4;
      } else if (id === 0xff && type === 0x3f) {
        need(1);
        const event = FAULTS[bytes[i]!];
        if (event) events.push({ channel: 'event', payload: { ...at, event, code: `GS101-${bytes[i]!}` } });
        i += 1;
      } else {
        throw new ModelDecodeError(`unknown channel ${hex(id)} ${hex(type)} at byte ${i - 2}`);
      }
    }
    // A frame without a gas status carries no reading of the kind's; a valve in it is still news
    // (the device reports its valve alone when it changes).
    if (telemetry.lel === undefined && telemetry.valve !== undefined)
      events.unshift({ channel: 'event', payload: { ...at, event: telemetry.valve === 'closed' ? 'valve_closed' : 'valve_opened' } });
    return [...(telemetry.lel !== undefined ? [{ channel: 'telemetry', payload: telemetry }] : []), ...events];
  },
  encode(command) {
    return command.cmd === 'valve_close' ? { fPort: 85, bytes: Buffer.from([0x06, 0x00, 0x00, 0xff]) } : undefined;
  },
  examples: [
    {
      input: { bytes: Buffer.from('058e01060101', 'hex'), fPort: 85 },
      expect: [{ channel: 'telemetry', payload: { gas: 'natural_gas', lel: 30, valve: 'open' } }],
    },
    {
      input: { bytes: Buffer.from('060100', 'hex'), fPort: 85 },
      expect: [{ channel: 'event', payload: { event: 'valve_closed' } }],
    },
    {
      input: { bytes: Buffer.from('ff3f02', 'hex'), fPort: 85 },
      expect: [{ channel: 'event', payload: { event: 'fault', code: 'GS101-2' } }],
    },
  ],
});

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}
