/**
 * An 8-channel combustible gas alarm controller (气体报警控制器) on Modbus TCP, or Modbus RTU
 * through a serial-to-TCP converter, as restaurant kitchens have: one controller, a detector
 * per channel, a shut-off valve on its relay output. The register map is the layout most such
 * controllers publish in their manuals — check the controller's own before adopting it, and copy
 * this file for a different one:
 *
 * | input registers | meaning |
 * | --- | --- |
 * | 0..7 | channel 1..8 concentration, 0.1 %LEL (0..1000) |
 * | 8 | alarm bits: bit n set = channel n+1 in alarm |
 * | 9 | fault bits: bit n set = channel n+1 faulty (open circuit, sensor failure) |
 * | coil 0 | the valve relay: writing 0 closes the valve |
 */
import { defineModel, type KindMessage, ModelDecodeError } from './types.js';

export const gasController8ch = defineModel({
  model: 'gas-controller-8ch',
  vendor: 'generic (the common register map)',
  description: '8-channel gas alarm controller with a valve relay (Modbus TCP / RTU over TCP)',
  source: 'modbus',
  kind: 'gas-sensor',
  modbus: { table: 'input', address: 0, count: 10, channels: 8 },
  decode({ registers, channel, ts }) {
    if (!registers || registers.length < 10) throw new ModelDecodeError(`read ${registers?.length ?? 0} registers, the map needs 10`);
    if (channel === undefined || channel < 1 || channel > 8) throw new ModelDecodeError(`channel ${channel} is not 1..8`);
    const raw = registers[channel - 1]!;
    if (raw > 1000) throw new ModelDecodeError(`channel ${channel} reads ${raw}: over 100.0 %LEL, not a concentration`);
    const bit = 1 << (channel - 1);
    const at = ts !== undefined ? { ts } : {};
    const out: KindMessage[] = [{ channel: 'telemetry', payload: { ...at, lel: raw / 10, gas: 'natural_gas' } }];
    if (registers[9]! & bit) out.push({ channel: 'event', payload: { ...at, event: 'fault', code: `CH${channel}` } });
    return out;
  },
  encode(command) {
    return command.cmd === 'valve_close' ? { coil: { address: 0, value: false } } : undefined;
  },
  examples: [
    {
      input: { registers: [0, 275, 0, 0, 0, 0, 0, 0, 0b10, 0], channel: 2 },
      expect: [{ channel: 'telemetry', payload: { lel: 27.5, gas: 'natural_gas' } }],
    },
    {
      input: { registers: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0b1000], channel: 4 },
      expect: [
        { channel: 'telemetry', payload: { lel: 0, gas: 'natural_gas' } },
        { channel: 'event', payload: { event: 'fault', code: 'CH4' } },
      ],
    },
  ],
});
