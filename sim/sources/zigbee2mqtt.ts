/**
 * A simulated zigbee2mqtt bridge: publishes its devices' states on `<base>/<friendly name>`,
 * their availability on `…/availability` (retained, JSON as z2m 1.x does), and the retained
 * `<base>/bridge/devices` list with IEEE addresses and definitions, on a real broker.
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface SimZigbeeDevice {
  friendlyName: string;
  ieee: string;
  /** zigbee2mqtt's definition.model, e.g. HS1SA. */
  model: string;
  vendor: string;
  description?: string;
}

export class SimulatedZigbee2mqtt {
  private constructor(
    private readonly client: MqttClient,
    private readonly base: string,
    readonly devices: SimZigbeeDevice[],
  ) {}

  static async connect(url: string, devices: SimZigbeeDevice[], base = 'zigbee2mqtt'): Promise<SimulatedZigbee2mqtt> {
    const client = await mqtt.connectAsync(url, { clientId: `z2m-sim-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 500 });
    const bridge = new SimulatedZigbee2mqtt(client, base, devices);
    await bridge.publishDevices();
    return bridge;
  }

  async publishDevices(): Promise<void> {
    const list = [
      { ieee_address: '0x00124b0000000001', friendly_name: 'Coordinator', type: 'Coordinator', definition: null },
      ...this.devices.map((d) => ({
        ieee_address: d.ieee,
        friendly_name: d.friendlyName,
        type: 'EndDevice',
        supported: true,
        definition: { model: d.model, vendor: d.vendor, description: d.description ?? d.model, exposes: [] },
      })),
    ];
    await this.client.publishAsync(`${this.base}/bridge/devices`, JSON.stringify(list), { qos: 1, retain: true });
  }

  /** A device's whole state, as z2m publishes it on every change. */
  async state(friendlyName: string, state: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(`${this.base}/${friendlyName}`, JSON.stringify(state), { qos: 1 });
  }

  async availability(friendlyName: string, online: boolean): Promise<void> {
    await this.client.publishAsync(`${this.base}/${friendlyName}/availability`, JSON.stringify({ state: online ? 'online' : 'offline' }), {
      qos: 1,
      retain: true,
    });
  }

  /** Anything on the bridge's topics (a malformed state, for the tests). */
  async raw(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(`${this.base}/${topic}`, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
