/**
 * The MQTT link to the central platform (mqtt.js). It drains the durable outbox: up to
 * `window` messages in flight at QoS 1, taken by priority lane then seq, each acknowledged in
 * the outbox only when the upstream broker's PUBACK arrives. While the link is down nothing new
 * is handed to mqtt.js, so the backlog drains by priority when it returns; mqtt.js itself
 * resends the few that were in flight. A retained online/offline status (offline is also the
 * Last Will) tells the platform the gateway's state and its outbox backlog.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../core/log.js';
import type { Outbox } from '../outbox/outbox.js';
import type { CommandHandler } from './commands.js';
import type { Counters } from '../../core/counters.js';
import { STATUS_SCHEMA_ID, upstreamTopics, type GatewayStatus, type UpstreamTopics } from '../../contracts/topics.js';
import { maskUrl } from '../../core/secrets.js';

export interface UplinkOptions {
  url: string;
  username?: string;
  password?: string;
  protocolVersion?: 4 | 5;
  /** PEM contents for mqtts. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  clientId: string;
  gatewayId: string;
  grid: string;
  version: string;
  log: Logger;
  counters: Counters;
  outbox: Outbox;
  /** Applies platform commands; without it the gateway does not subscribe to them. */
  commands?: CommandHandler;
  /** Messages in flight at once. */
  window?: number;
}

export class Uplink {
  readonly topics: UpstreamTopics;
  private client?: MqttClient;
  private readonly since = new Date().toISOString();
  private readonly inflight = new Set<number>();
  private readonly window: number;
  private statusTimer?: NodeJS.Timeout;
  private statusDirty = false;
  private readonly connectListeners: Array<() => void> = [];

  constructor(private readonly opts: UplinkOptions) {
    this.topics = upstreamTopics(opts.grid, opts.gatewayId);
    this.window = opts.window ?? 64;
    opts.outbox.onDurable(() => this.pump());
    // A dropped incident message changes what the platform should know about this gateway's backlog.
    opts.outbox.onDropped(() => this.publishStatus());
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Seqs handed to mqtt.js and not yet acknowledged: the outbox must not drop these. */
  get inFlight(): ReadonlySet<number> {
    return this.inflight;
  }

  /** The status message; `withFigures` false for the Last Will, which is written at connect time and sent at any time later. */
  private status(state: GatewayStatus['state'], withFigures = true): string {
    const o = this.opts.outbox.stats();
    const s: GatewayStatus = {
      schema: STATUS_SCHEMA_ID,
      gatewayId: this.opts.gatewayId,
      grid: this.opts.grid,
      state,
      since: state === 'online' ? new Date().toISOString() : this.since,
      version: this.opts.version,
      ...(withFigures
        ? { outbox: { pending: o.pending, oldestAgeSeconds: Math.round(o.oldestAgeMs / 1000), lastSeq: o.lastSeq, dropped: o.dropped } }
        : { lost: true }),
    };
    return JSON.stringify(s);
  }

  /** Starts connecting; does not wait, because the gateway must serve devices while the uplink is down. */
  start(): void {
    const { log, counters } = this.opts;
    const where = maskUrl(this.opts.url);
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId,
      username: this.opts.username,
      password: this.opts.password,
      protocolVersion: this.opts.protocolVersion ?? 4,
      ...(this.opts.tls ?? {}),
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // Sent by the broker only if the link dies without a goodbye; figures of connect time would lie then, so it has none.
      will: { topic: this.topics.status, payload: Buffer.from(this.status('offline', false)), qos: 1, retain: true },
    });
    client.on('connect', () => {
      counters.inc('uplink_connects_total');
      log.info({ upstream: where, backlog: this.opts.outbox.stats().pending }, 'uplink connected');
      this.publishStatus(true);
      if (this.opts.commands) {
        client.subscribe(this.topics.commands, { qos: 1 }, (err) => {
          if (err) log.error({ err: err.message, topic: this.topics.commands }, 'cannot subscribe to platform commands');
        });
      }
      this.pump();
      for (const l of this.connectListeners) l();
    });
    client.on('message', (topic, payload) => this.onCommand(topic, payload));
    client.on('close', () => log.debug({ upstream: where }, 'uplink connection closed'));
    client.on('offline', () =>
      log.warn({ upstream: where, backlog: this.opts.outbox.stats().pending }, 'uplink offline; incidents wait in the outbox'),
    );
    client.on('error', (err) => {
      counters.inc('uplink_errors_total');
      log.warn({ upstream: where, err: err.message }, 'uplink error');
    });
    this.client = client;
  }

  /** Called on every (re)connect: other queues for the platform (evidence, captures) try again then. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  /**
   * Publishes one message at QoS 1 beside the incidents (evidence chunks, captures); resolves on
   * PUBACK. Rejects at once while the link is down, and after `timeoutMs` without an answer, so
   * the caller's own durable queue keeps the message and retries it.
   */
  async publishQos1(topic: string, payload: Buffer | string, timeoutMs = 30_000): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('uplink not connected');
    await withTimeout(client.publishAsync(topic, payload, { qos: 1 }), timeoutMs);
  }

  /** Sends what the window allows, best lane first. */
  pump(): void {
    const client = this.client;
    if (!client?.connected) return;
    const room = this.window - this.inflight.size;
    if (room <= 0) return;
    for (const entry of this.opts.outbox.next(room, this.inflight)) {
      const seq = entry.seq;
      this.inflight.add(seq);
      this.opts.counters.inc('uplink_incidents_published_total');
      client.publish(this.topics.incident, JSON.stringify(entry.message), { qos: 1 }, (err) => {
        this.inflight.delete(seq);
        if (err) {
          // Still pending in the outbox: it goes again on the next pump.
          this.opts.counters.inc('uplink_incident_errors_total');
          this.opts.log.debug({ seq, err: err.message }, 'incident publish not acknowledged');
        } else {
          this.opts.outbox.ack(seq);
          this.opts.counters.inc('uplink_incidents_acked_total');
        }
        this.pump();
      });
    }
  }

  private onCommand(topic: string, payload: Buffer): void {
    const handler = this.opts.commands;
    const client = this.client;
    if (!handler || !client || !topic.startsWith(`${this.topics.root}/cmd/`)) return;
    const name = topic.slice(this.topics.root.length + 5);
    void handler.handle(name, payload).then(
      ({ reply, durable }) => {
        const send = () => client.publish(this.topics.reply, JSON.stringify(reply), { qos: 1 });
        // The reply confirms a change only once the change is on disk.
        if (durable)
          durable.then(send, (err: unknown) => {
            this.opts.log.error({ err: (err as Error).message }, 'command applied but not stored');
          });
        else send();
      },
      (err: unknown) =>
        this.opts.log.error({ err: (err as Error).message }, 'platform command could not be applied; the platform will resend it'),
    );
  }

  /**
   * Publishes the retained status (e.g. after outbox drops): at most once a second, the last
   * change always going out at the end of the second. Only while connected: a status queued
   * offline would arrive stale, and a fresh one is sent on every connect anyway.
   */
  publishStatus(force = false): void {
    const client = this.client;
    if (!client?.connected) return;
    if (this.statusTimer && !force) {
      this.statusDirty = true;
      return;
    }
    client.publish(this.topics.status, this.status('online'), { qos: 1, retain: true });
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      if (this.statusDirty) {
        this.statusDirty = false;
        this.publishStatus();
      }
    }, 1000);
    this.statusTimer.unref();
  }

  /**
   * Says goodbye with a retained `offline`, then disconnects; what is still in flight stays in the
   * outbox. `sayOffline` false: an HA pair's node handing over, whose successor says `online`.
   */
  async stop(sayOffline = true): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    if (!client) return;
    if (client.connected && sayOffline) {
      await withTimeout(client.publishAsync(this.topics.status, this.status('offline'), { qos: 1, retain: true }), 3000).catch(
        () => undefined,
      );
    }
    // A DISCONNECT, not a dropped socket: the broker then discards the Will [MQTT-3.1.2-10], which
    // would otherwise overwrite the goodbye just sent (or, in a pair, the successor's `online`).
    await withTimeout(client.endAsync(false), 3000).catch(() => client.endAsync(true));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
