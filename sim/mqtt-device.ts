/**
 * A simulated device that speaks MQTT like a real one: its own credentials, its own client id,
 * a Last Will on its status topic, QoS 1 publishes. Device kinds build on it.
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface SimDeviceOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  url: string;
  id: string;
  secret: string;
  /** Topic and payload of the Last Will, when the real device has one. */
  will?: { topic: string; payload: string };
  connectTimeoutMs?: number;
  /** Reconnect after a drop, as field devices do; off by default so tests see refusals plainly. */
  reconnect?: boolean;
  /** false: a persistent session (the broker keeps subscriptions and queues QoS 1 while away). */
  clean?: boolean;
  /** For mqtts:// URLs: the CA to trust, and the device's own certificate when the broker asks for one. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** How a misbehaving device sends: a wrong clock, a slow link, messages repeated or out of order. */
export interface SendBehaviour {
  /** Added to the `ts`/`timestamp` of every JSON payload it sends (a device clock off by this much). */
  skewMs?: number;
  /** Wait before each publish (a slow or congested link). */
  delayMs?: number;
  /** Chance each message is sent twice (a QoS 1 resend after a lost PUBACK). */
  duplicate?: number;
  /** Chance a message is held back and sent after the next one. */
  reorder?: number;
  /** The device's own random source (seeded by the scenario runner). */
  random?: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON payload with its timestamp moved by `ms`; anything else unchanged. */
export function skewed(payload: string | Buffer, ms: number): string | Buffer {
  const text = payload.toString();
  if (!text.startsWith('{')) return payload;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['ts', 'timestamp']) if (typeof body[k] === 'number') body[k] = (body[k] as number) + ms;
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}

export class SimulatedMqttDevice {
  protected client?: MqttClient;
  private readonly listeners: Array<(topic: string, payload: Buffer) => void> = [];
  /** Set by the scenario runner to make this device misbehave. */
  behaviour: SendBehaviour = {};
  private held?: { topic: string; payload: string | Buffer; retain: boolean };
  private recorder?: (topic: string, payload: Buffer) => void;

  constructor(readonly opts: SimDeviceOptions) {}

  get id(): string {
    return this.opts.id;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Connects; rejects with the broker's refusal (e.g. "Connection refused: Bad username or password"). */
  async connect(): Promise<void> {
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.id,
      username: this.opts.id,
      password: this.opts.secret,
      clean: this.opts.clean ?? true,
      keepalive: 30,
      connectTimeout: this.opts.connectTimeoutMs ?? 5000,
      reconnectPeriod: 0,
      ...(this.opts.tls ? { ...this.opts.tls, rejectUnauthorized: true } : {}),
      ...(this.opts.will
        ? { will: { topic: this.opts.will.topic, payload: Buffer.from(this.opts.will.payload), qos: 1 as const, retain: true } }
        : {}),
    });
    this.client = client;
    // Listeners given before connect() hear what a persistent session delivers on reconnect.
    for (const l of this.listeners) client.on('message', l);
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        client.off('close', onClose);
        resolve();
      };
      const onError = (err: Error) => {
        client.off('connect', onConnect);
        client.off('close', onClose);
        client.end(true);
        reject(err);
      };
      // A broker that drops the socket before any CONNACK (a connection limit) says nothing else.
      const onClose = () => onError(new Error(`${this.id}: connection closed before CONNACK`));
      client.once('connect', onConnect);
      client.once('error', onError);
      client.once('close', onClose);
    });
    if (this.opts.reconnect) client.options.reconnectPeriod = 2000;
  }

  /** QoS 1 publish; resolves on PUBACK. Misbehaves as `behaviour` says. */
  async publish(topic: string, payload: string | Buffer, retain = false): Promise<void> {
    const b = this.behaviour;
    const random = b.random ?? Math.random;
    if (b.skewMs) payload = skewed(payload, b.skewMs);
    if (b.delayMs) await sleep(b.delayMs);
    if (!this.client && !this.recorder) throw new Error(`${this.id}: not connected`);
    if (b.reorder && !this.held && random() < b.reorder) {
      this.held = { topic, payload, retain };
      return;
    }
    await this.send(topic, payload, retain);
    if (b.duplicate && random() < b.duplicate) await this.send(topic, payload, retain);
    const held = this.held;
    this.held = undefined;
    if (held) await this.send(held.topic, held.payload, held.retain);
  }

  private async send(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    if (this.recorder) return this.recorder(topic, Buffer.from(payload));
    const client = this.client;
    if (!client) throw new Error(`${this.id}: not connected`);
    await client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /**
   * Hands every publish to `recorder` instead of a broker: what this simulator says, without one
   * (the kinds' contract suite decodes it; the end-to-end tests use the real broker).
   */
  recordTo(recorder: (topic: string, payload: Buffer) => void): void {
    this.recorder = recorder;
  }

  /** Resolves to the SUBACK's granted QoS per filter; 128 means refused. */
  async subscribe(topic: string): Promise<number[]> {
    const client = this.client;
    if (!client) throw new Error(`${this.id}: not connected`);
    try {
      const granted = await client.subscribeAsync(topic, { qos: 1 });
      return granted.map((g) => g.qos);
    } catch (err) {
      // mqtt.js turns a refused filter into an error carrying the SUBACK.
      const suback = (err as { packet?: { granted?: Array<number | { qos: number }> } }).packet;
      if (suback?.granted) return suback.granted.map((g) => (typeof g === 'number' ? g : g.qos));
      throw err;
    }
  }

  /** Resolves when the broker (or anything else) closes the connection. */
  closed(): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.resolve();
    return new Promise((resolve) => client.once('close', () => resolve()));
  }

  /** Called for each message on a subscribed topic, on this connection and later ones. */
  onMessage(listener: (topic: string, payload: Buffer) => void): void {
    this.listeners.push(listener);
    this.client?.on('message', listener);
  }

  /** A clean goodbye (no Last Will). Forced when the link is already gone: nothing in flight can be acked then. */
  async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(!client.connected);
  }

  /** Drops the TCP connection without DISCONNECT, as a device losing power does: the broker fires the Will. */
  kill(): void {
    const client = this.client;
    this.client = undefined;
    client?.stream.destroy();
    client?.end(true);
  }
}
