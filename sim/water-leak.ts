/** A simulated water leak sensor: the payloads devices/water-leak/codec.ts documents, over real MQTT. */
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { simKind } from './sim-kind.js';

export class SimulatedWaterLeak extends SimulatedMqttDevice {
  wet = false;
  battery = 95;

  constructor(opts: Omit<SimDeviceOptions, 'will'>) {
    super({ ...opts, will: { topic: `dev/${opts.id}/status`, payload: JSON.stringify({ state: 'offline' }) } });
  }

  topic(channel: 'telemetry' | 'event' | 'status'): string {
    return `dev/${this.id}/${channel}`;
  }

  async telemetry(): Promise<void> {
    await this.publish(this.topic('telemetry'), JSON.stringify({ ts: Date.now(), leak: this.wet, battery: this.battery }));
  }

  async leak(): Promise<void> {
    this.wet = true;
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'leak' }));
  }

  async dry(): Promise<void> {
    this.wet = false;
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'dry' }));
  }

  async tamper(): Promise<void> {
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'tamper' }));
  }
}

/** What the scenario runner can do with a simulated water-leak sensor. */
export const waterLeakSim = simKind<SimulatedWaterLeak>({
  kind: 'water-leak',
  create: (url, id, secret) => new SimulatedWaterLeak({ url, id, secret, reconnect: true }),
  reading: (d) => d.telemetry(),
  readingTopic: (d) => d.topic('telemetry'),
  actions: {
    leak: (d) => d.leak(),
    dry: (d) => d.dry(),
    tamper: (d) => d.tamper(),
  },
});
