/**
 * A simulated smoke alarm: the payloads devices/smoke-alarm/codec.ts documents, over real MQTT.
 * Battery drains slowly with each heartbeat; smoke density rises on alarm and falls on clear.
 */
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { num, simKind, str } from './sim-kind.js';

export interface SmokeAlarmSimOptions extends Omit<SimDeviceOptions, 'will'> {
  battery?: number;
  temperature?: number;
}

export class SimulatedSmokeAlarm extends SimulatedMqttDevice {
  battery: number;
  temperature: number;
  smokeDensity = 0.01;
  private heartbeat?: NodeJS.Timeout;

  constructor(opts: SmokeAlarmSimOptions) {
    super({ ...opts, will: { topic: `dev/${opts.id}/status`, payload: JSON.stringify({ state: 'offline' }) } });
    this.battery = opts.battery ?? 100;
    this.temperature = opts.temperature ?? 22;
  }

  topic(channel: 'telemetry' | 'event' | 'status' | 'cmd'): string {
    return `dev/${this.id}/${channel}`;
  }

  override async connect(): Promise<void> {
    await super.connect();
    await this.publish(this.topic('status'), JSON.stringify({ state: 'online', ts: Date.now() }), true);
  }

  async telemetry(): Promise<void> {
    this.battery = Math.max(0, Math.round((this.battery - 0.01) * 100) / 100);
    await this.publish(
      this.topic('telemetry'),
      JSON.stringify({ ts: Date.now(), battery: this.battery, smokeDensity: this.smokeDensity, temperature: this.temperature }),
    );
  }

  async alarm(smokeDensity = 2.5): Promise<void> {
    this.smokeDensity = smokeDensity;
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'alarm', smokeDensity }));
  }

  async clear(): Promise<void> {
    this.smokeDensity = 0.01;
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'clear', smokeDensity: this.smokeDensity }));
  }

  async fault(code: string): Promise<void> {
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'fault', code }));
  }

  async faultClear(): Promise<void> {
    await this.event('fault_clear');
  }

  /** Taken off its base: a real alarm's tamper switch. */
  async tamper(): Promise<void> {
    await this.event('tamper');
  }

  async tamperClear(): Promise<void> {
    await this.event('tamper_clear');
  }

  async lowBattery(): Promise<void> {
    await this.event('low_battery', { battery: this.battery });
  }

  private async event(event: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event, ...extra }));
  }

  async selfTest(): Promise<void> {
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'test' }));
  }

  /** Sends telemetry every `periodMs` until stopped; errors (e.g. while disconnected) are ignored as a device would. */
  startHeartbeat(periodMs: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => void this.telemetry().catch(() => undefined), periodMs);
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  override async disconnect(): Promise<void> {
    this.stopHeartbeat();
    await super.disconnect();
  }

  override kill(): void {
    this.stopHeartbeat();
    super.kill();
  }
}

/** What the scenario runner can do with a simulated smoke-alarm. */
export const smokeAlarmSim = simKind<SimulatedSmokeAlarm>({
  kind: 'smoke-alarm',
  create: (url, id, secret) => new SimulatedSmokeAlarm({ url, id, secret, reconnect: true }),
  reading: (d) => d.telemetry(),
  readingTopic: (d) => d.topic('telemetry'),
  actions: {
    alarm: (d, a) => d.alarm(num(a, 'smokeDensity', 2.5)),
    clear: (d) => d.clear(),
    fault: (d, a) => d.fault(str(a, 'code', 'E01')),
    tamper: (d) => d.tamper(),
  },
});
