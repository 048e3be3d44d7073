/** A platform-side subscriber on the upstream broker that collects what the gateway publishes. */
import mqtt, { type MqttClient } from 'mqtt';
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
