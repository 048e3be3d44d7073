/**
 * A simulated ChirpStack v4 MQTT integration: uplink events as ChirpStack publishes them
 * (`application/{app}/device/{devEui}/event/up`, JSON with deviceInfo, fCnt, fPort, base64
 * data, rxInfo), and the downlinks the gateway queues on `…/command/down`, recorded.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

export interface SimLoraDevice {
  devEui: string;
  name: string;
  profile: string;
}

export interface RecordedDownlink {
  topic: string;
  devEui: string;
  fPort: number;
  data: Buffer;
  confirmed: boolean;
}

export class SimulatedChirpstack {
  readonly downlinks: RecordedDownlink[] = [];
  private readonly fCnt = new Map<string, number>();
  private readonly listeners = new Set<(d: RecordedDownlink) => void>();

  private constructor(
    private readonly client: MqttClient,
    readonly applicationId: string,
  ) {
    client.on('message', (topic, payload) => {
      try {
        const d = JSON.parse(payload.toString()) as { devEui: string; fPort: number; data: string; confirmed?: boolean };
        const down = { topic, devEui: d.devEui, fPort: d.fPort, data: Buffer.from(d.data, 'base64'), confirmed: d.confirmed ?? false };
        this.downlinks.push(down);
        for (const l of this.listeners) l(down);
      } catch {
        /* not a downlink */
      }
    });
  }

  static async connect(url: string, applicationId: string = randomUUID()): Promise<SimulatedChirpstack> {
    const client = await mqtt.connectAsync(url, {
      clientId: `chirpstack-sim-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 500,
    });
    await client.subscribeAsync(`application/${applicationId}/device/+/command/down`, { qos: 1 });
    return new SimulatedChirpstack(client, applicationId);
  }

  /** One uplink frame from a device, as ChirpStack's integration publishes it. */
  async uplink(device: SimLoraDevice, frame: Buffer, fPort = 85, overrides: Record<string, unknown> = {}): Promise<void> {
    const fCnt = (this.fCnt.get(device.devEui) ?? 0) + 1;
    this.fCnt.set(device.devEui, fCnt);
    const event = {
      deduplicationId: randomUUID(),
      time: new Date().toISOString(),
      deviceInfo: {
        tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
        tenantName: 'community',
        applicationId: this.applicationId,
        applicationName: 'sensors',
        deviceProfileId: randomUUID(),
        deviceProfileName: device.profile,
        deviceName: device.name,
        devEui: device.devEui,
      },
      devAddr: '01f2a3b4',
      adr: true,
      dr: 5,
      fCnt,
      fPort,
      confirmed: false,
      data: frame.toString('base64'),
      rxInfo: [{ gatewayId: '0016c001ff10a235', uplinkId: 1234, rssi: -87, snr: 7.5, location: {} }],
      txInfo: { frequency: 486300000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } } },
      ...overrides,
    };
    await this.client.publishAsync(`application/${this.applicationId}/device/${device.devEui}/event/up`, JSON.stringify(event), { qos: 1 });
  }

  /** Calls `listener` with each downlink as it arrives (a device acting on it); returns the unsubscribe. */
  onDownlink(listener: (d: RecordedDownlink) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async raw(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
