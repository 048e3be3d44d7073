/**
 * The MQTT link to the central platform (mqtt.js): incidents at QoS 1, and a retained
 * online/offline status whose `offline` is also the Last Will, so the platform learns of a
 * gateway that vanished without saying goodbye. mqtt.js reconnects on its own and holds QoS 1
 * publishes made while disconnected; the durable outbox (its own issue) will sit in front of it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { IncidentMessage } from '../incidents/schema.js';
import type { Logger } from '../log.js';
import type { Counters } from '../stats.js';
import { STATUS_SCHEMA_ID, upstreamTopics, type GatewayStatus, type UpstreamTopics } from './topics.js';

export interface UplinkOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  gatewayId: string;
  grid: string;
  version: string;
  log: Logger;
  counters: Counters;
}

/** URL without credentials, for logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable url)';
  }
}

export class Uplink {
  readonly topics: UpstreamTopics;
  private client?: MqttClient;
  private readonly since = new Date().toISOString();

  constructor(private readonly opts: UplinkOptions) {
    this.topics = upstreamTopics(opts.grid, opts.gatewayId);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private status(state: GatewayStatus['state']): string {
    const s: GatewayStatus = {
      schema: STATUS_SCHEMA_ID,
      gatewayId: this.opts.gatewayId,
      grid: this.opts.grid,
      state,
      since: state === 'online' ? new Date().toISOString() : this.since,
      version: this.opts.version,
    };
    return JSON.stringify(s);
  }

  /** Starts connecting; does not wait, because the gateway must serve devices while the uplink is down. */
  start(): void {
    const { log, counters } = this.opts;
    const where = safeUrl(this.opts.url);
    const client = mqtt.connect(this.opts.url, {
      clientId: this.opts.clientId,
      username: this.opts.username,
      password: this.opts.password,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      will: { topic: this.topics.status, payload: Buffer.from(this.status('offline')), qos: 1, retain: true },
    });
    client.on('connect', () => {
      counters.inc('uplink_connects_total');
      log.info({ upstream: where }, 'uplink connected');
      client.publish(this.topics.status, this.status('online'), { qos: 1, retain: true });
    });
    client.on('close', () => log.debug({ upstream: where }, 'uplink connection closed'));
    client.on('offline', () => log.warn({ upstream: where }, 'uplink offline; incidents wait in memory until it returns'));
    client.on('error', (err) => {
      counters.inc('uplink_errors_total');
      log.warn({ upstream: where, err: err.message }, 'uplink error');
    });
    this.client = client;
  }

  publishIncident(message: IncidentMessage): void {
    const client = this.client;
    if (!client) throw new Error('uplink not started');
    this.opts.counters.inc('uplink_incidents_published_total');
    client.publish(this.topics.incident, JSON.stringify(message), { qos: 1 }, (err) => {
      if (err) {
        this.opts.counters.inc('uplink_incident_errors_total');
        this.opts.log.warn({ id: message.id, seq: message.seq, err: err.message }, 'incident publish failed');
      } else {
        this.opts.counters.inc('uplink_incidents_acked_total');
      }
    });
  }

  /** Says goodbye with a retained `offline`, then disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await client.publishAsync(this.topics.status, this.status('offline'), { qos: 1, retain: true }).catch(() => undefined);
    }
    await client.endAsync(!client.connected);
  }
}
