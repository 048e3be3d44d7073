/** A platform-side subscriber on the upstream broker that collects what the gateway publishes. */
import mqtt, { type MqttClient } from 'mqtt';
import { type EvidenceChunkHeader, EvidenceReassembler } from '../../contracts/evidence.js';
import { waitFor } from './servers.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export class UpstreamSubscriber {
  readonly messages: Received[] = [];

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload: payload.toString(), retain: packet.retain }));
  }

  /** `session` names a persistent session (clean: false), so the broker queues for it while it is away. */
  static async connect(
    url: string,
    filter: string,
    auth?: { username: string; password: string },
    session?: string,
  ): Promise<UpstreamSubscriber> {
    const client = await mqtt.connectAsync(url, {
      clientId: session ?? `platform-${Math.random().toString(16).slice(2)}`,
      clean: session === undefined,
      reconnectPeriod: 200,
      ...auth,
    });
    const sub = new UpstreamSubscriber(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return sub;
  }

  json<T>(topicSuffix: string): T[] {
    return this.messages.filter((m) => m.topic.endsWith(topicSuffix)).map((m) => JSON.parse(m.payload) as T);
  }

  async waitFor<T>(what: string, topicSuffix: string, predicate: (m: T) => boolean, timeoutMs = 10_000): Promise<T> {
    return waitFor(what, () => this.json<T>(topicSuffix).find(predicate), timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * The platform side of the `mqtt` evidence sink: reassembles chunks with the reference
 * reassembler (contracts/evidence.ts) and keeps each complete object by sha256.
 */
export class EvidenceCollector {
  readonly objects = new Map<string, { bytes: Buffer; header: EvidenceChunkHeader }>();
  readonly refused: string[] = [];
  chunks = 0;
  private readonly reassembler = new EvidenceReassembler();

  private constructor(private readonly client: MqttClient) {
    client.on('message', (_topic, payload) => {
      this.chunks++;
      const r = this.reassembler.add(payload);
      if (r.state === 'complete') this.objects.set(r.sha256, { bytes: r.bytes, header: r.header });
      else if (r.state === 'refused') this.refused.push(r.reason);
    });
  }

  /** `session`: a persistent session, so the broker keeps chunks for it while it is away. */
  static async connect(url: string, filter = 'gridedge/v1/+/+/evidence/+', session?: string): Promise<EvidenceCollector> {
    const client = await mqtt.connectAsync(url, {
      clientId: session ?? `platform-ev-${Math.random().toString(16).slice(2)}`,
      clean: session === undefined,
      reconnectPeriod: 200,
    });
    const c = new EvidenceCollector(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return c;
  }

  async waitFor(sha256: string, timeoutMs = 15_000): Promise<{ bytes: Buffer; header: EvidenceChunkHeader }> {
    return waitFor(`evidence ${sha256.slice(0, 12)}… reassembled`, () => this.objects.get(sha256), timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
