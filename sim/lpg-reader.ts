/** A simulated LPG e-tag reader with scale: scans over real MQTT, as the station's reader sends them. */
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';

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
