/** A simulated LPG e-tag reader with scale: scans over real MQTT, as the station's reader sends them. */
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { num, simKind, str } from './sim-kind.js';

export interface Scan {
  tagId: string;
  operation: 'fill' | 'delivery';
  weightBeforeKg: number;
  weightAfterKg: number;
  station?: string;
}

export class SimulatedLpgReader extends SimulatedMqttDevice {
  constructor(opts: Omit<SimDeviceOptions, 'will'>) {
    super({ ...opts, will: { topic: `dev/${opts.id}/status`, payload: '"offline"' } });
  }

  topic(channel: 'scan' | 'heartbeat' | 'event' | 'status'): string {
    return `dev/${this.id}/${channel}`;
  }

  async scan(scan: Scan): Promise<void> {
    await this.publish(this.topic('scan'), JSON.stringify({ ts: Date.now(), ...scan }));
  }

  /** A cylinder filled from `before` to `after` kg. */
  async fill(tagId: string, before: number, after: number): Promise<void> {
    await this.scan({ tagId, operation: 'fill', weightBeforeKg: before, weightAfterKg: after });
  }

  async deliver(tagId: string, weight: number): Promise<void> {
    await this.scan({ tagId, operation: 'delivery', weightBeforeKg: weight, weightAfterKg: weight });
  }

  async heartbeat(): Promise<void> {
    await this.publish(this.topic('heartbeat'), JSON.stringify({ ts: Date.now() }));
  }
}

/** What the scenario runner can do with a simulated lpg-reader. */
export const lpgReaderSim = simKind<SimulatedLpgReader>({
  kind: 'lpg-reader',
  create: (url, id, secret) => new SimulatedLpgReader({ url, id, secret, reconnect: true }),
  reading: (d) => d.heartbeat(),
  readingTopic: (d) => d.topic('scan'),
  actions: {
    fill: (d, a) => d.fill(str(a, 'tagId', 'CYL0001'), num(a, 'before', 15.5), num(a, 'after', 29.5)),
    deliver: (d, a) => d.deliver(str(a, 'tagId', 'CYL0001'), num(a, 'weight', 29.5)),
  },
});
