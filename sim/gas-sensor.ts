/**
 * A simulated gas detector: %LEL telemetry over real MQTT, and, when it has a valve, a handler
 * for the gateway's `valve_close` command that answers on its reply topic, as real valve
 * controllers do. `valveBehaviour` lets a test make the valve fail or stay silent.
 */
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { num, simKind } from './sim-kind.js';

export interface GasSensorSimOptions extends Omit<SimDeviceOptions, 'will'> {
  gas?: 'lpg' | 'natural_gas';
  valve?: boolean;
  valveBehaviour?: 'confirm' | 'fail' | 'silent';
}

export class SimulatedGasSensor extends SimulatedMqttDevice {
  lel = 0;
  valveState: 'open' | 'closed' = 'open';
  readonly commandsReceived: Array<Record<string, unknown>> = [];

  constructor(private readonly sim: GasSensorSimOptions) {
    super({ ...sim, will: { topic: `dev/${sim.id}/status`, payload: JSON.stringify({ state: 'offline' }) } });
  }

  topic(channel: 'telemetry' | 'event' | 'status' | 'cmd' | 'cmd_reply'): string {
    return `dev/${this.id}/${channel}`;
  }

  override async connect(): Promise<void> {
    await super.connect();
    if (this.sim.valve) {
      await this.subscribe(this.topic('cmd'));
      this.onMessage((_topic, payload) => void this.onCommand(payload));
    }
    await this.publish(this.topic('status'), JSON.stringify({ state: 'online', ts: Date.now() }), true);
  }

  private async onCommand(payload: Buffer): Promise<void> {
    const cmd = JSON.parse(payload.toString()) as { id: string; cmd: string };
    this.commandsReceived.push(cmd);
    const behaviour = this.sim.valveBehaviour ?? 'confirm';
    if (cmd.cmd !== 'valve_close' || behaviour === 'silent') return;
    if (behaviour === 'confirm') this.valveState = 'closed';
    await this.publish(
      this.topic('cmd_reply'),
      JSON.stringify({
        ts: Date.now(),
        id: cmd.id,
        ok: behaviour === 'confirm',
        ...(behaviour === 'fail' ? { detail: 'motor stalled' } : {}),
      }),
    ).catch(() => undefined);
    if (behaviour === 'confirm')
      await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'valve_closed' })).catch(() => undefined);
  }

  /** Publishes one reading at `lel` %LEL. */
  async report(lel: number): Promise<void> {
    this.lel = lel;
    await this.publish(
      this.topic('telemetry'),
      JSON.stringify({ ts: Date.now(), lel, gas: this.sim.gas ?? 'lpg', ...(this.sim.valve ? { valve: this.valveState } : {}) }),
    );
  }

  /** A leak that builds up (or fades) over `steps` readings. */
  async ramp(to: number, steps: number): Promise<void> {
    const from = this.lel;
    for (let i = 1; i <= steps; i++) await this.report(Math.round((from + ((to - from) * i) / steps) * 10) / 10);
  }

  async fault(code: string): Promise<void> {
    await this.publish(this.topic('event'), JSON.stringify({ ts: Date.now(), event: 'fault', code }));
  }
}

/** What the scenario runner can do with a simulated gas-sensor. */
export const gasSensorSim = simKind<SimulatedGasSensor>({
  kind: 'gas-sensor',
  create: (url, id, secret, o) => new SimulatedGasSensor({ url, id, secret, valve: o.valve === true, reconnect: true }),
  reading: (d) => d.report(d.lel),
  readingTopic: (d) => d.topic('telemetry'),
  actions: {
    leak: (d, a) => d.ramp(num(a, 'lel', 40), Math.max(1, Math.round(num(a, 'steps', 5)))),
    clear: (d) => d.ramp(0, 3),
  },
});
