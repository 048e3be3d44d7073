/**
 * aedes' authorization hooks: what each connection may publish and subscribe to, and the one
 * place every accepted device message enters the gateway. A device publishes only on its own
 * topics (MQTT 3.1.1 has no way to refuse a single PUBLISH, so anything else closes the
 * connection), within its rate; a service account by its ordered ACL; nobody on `$SYS`.
 */
import type { AedesOptions, Client } from 'aedes';
import { allowed } from './accounts.js';
import type { BrokerAuth } from './auth.js';
import type { RateLimiter } from './limits.js';
import type { BrokerLimits, BrokerOptions, Delivery } from './types.js';
import { type OrphanWill, orphanWill } from './wills.js';

export interface HookDeps {
  auth: BrokerAuth;
  rates: RateLimiter;
  limits: BrokerLimits;
  opts: BrokerOptions;
  /** This node's aedes id: a packet from another id is a dead node's Will (an HA pair). */
  aedesId: string;
  connected: (deviceId: string) => boolean;
  stats: { messagesReceived: number; messagesSent: number };
}

type Hooks = Required<Pick<AedesOptions, 'authorizeForward' | 'authorizePublish' | 'authorizeSubscribe'>>;

export function authorizeHooks(deps: HookDeps): Hooks {
  const { auth, rates, limits, opts, stats } = deps;
  const { counters, log } = opts;
  return {
    // Every delivery, retained ones on subscribe included, is checked again topic by topic:
    // a subscription granted on a filter must not leak what a narrower rule denies.
    authorizeForward: (client: Client, packet) => {
      const service = auth.services.get(client);
      const ok = service
        ? allowed(service.acl, 'subscribe', packet.topic, service.username, client.id)
        : (auth.sessions.get(client)?.topics.subscribe.has(packet.topic) ?? false);
      if (!ok) return null;
      stats.messagesSent++;
      return packet;
    },
    // The gateway takes each message here, not in `published`: for QoS 1 aedes writes the
    // PUBACK before it publishes, and authorizePublish is the last hook before that PUBACK
    // (and before PUBREC for QoS 2). It also sees the device's Will when the device drops off.
    authorizePublish: (client, packet, done) => {
      const fromNode = (packet as { brokerId?: string }).brokerId;
      if (opts.cluster && fromNode && fromNode !== deps.aedesId)
        return orphanWill(client, packet as unknown as OrphanWill, done, { auth, connected: deps.connected, opts });
      // $SYS is the broker's own voice; no client speaks there, whatever its ACL says.
      if (client && packet.topic.startsWith('$SYS/')) {
        counters.inc('broker_publish_denied_total');
        return done(new Error('$SYS topics are reserved to the broker'));
      }
      const service = client && auth.services.get(client);
      if (client && service) {
        if (allowed(service.acl, 'publish', packet.topic, service.username, client.id)) {
          stats.messagesReceived++;
          return done(null);
        }
        counters.inc('broker_publish_denied_total');
        log.warn(
          { account: service.username, topic: packet.topic.slice(0, 200) },
          "publish refused by the account's ACL; connection closed",
        );
        return done(new Error(`publish to '${packet.topic.slice(0, 200)}' is not allowed for ${service.username}`));
      }
      const session = client && auth.sessions.get(client);
      const channel = session?.topics.publish.get(packet.topic);
      if (!session || channel === undefined) {
        counters.inc('broker_publish_denied_total');
        log.warn(
          { device: session?.device.id ?? client?.id, topic: packet.topic.slice(0, 200) },
          "publish outside the device's own topics refused; connection closed",
        );
        return done(new Error(`publish to '${packet.topic.slice(0, 200)}' is not allowed for this device`));
      }
      // A Will is the broker's doing, not the device's: it never counts against the rate.
      if (client.connected && !rates.take(session.device.id)) {
        counters.inc('broker_limit_breaches_total', { limit: 'publish_rate' });
        log.warn(
          { device: session.device.id, perSecond: limits.maxPublishPerSecond, burst: limits.publishBurst },
          'device publishes faster than allowed; connection closed',
        );
        return done(new Error('publish rate limit exceeded'));
      }
      stats.messagesReceived++;
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const delivery: Delivery = {
        qos: packet.qos,
        dup: packet.dup,
        ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}),
      };
      // A dock's message for its aircraft is the aircraft's (its state, its rules, its incidents).
      const behalf = session.topics.onBehalf?.get(packet.topic);
      const speaker = (behalf && auth.deviceSession(behalf)) || session;
      const accepted = opts.onMessage(speaker, channel, payload, Date.now(), delivery);
      if (!accepted) return done(null);
      accepted.then(
        () => done(null),
        (err: unknown) => {
          counters.inc('broker_ingest_failures_total');
          log.error(
            { device: session.device.id, err: (err as Error).message },
            'could not store what this message caused; no PUBACK, the device will resend',
          );
          done(err as Error);
        },
      );
    },
    authorizeSubscribe: (client, sub, done) => {
      const service = auth.services.get(client);
      if (service) {
        if (allowed(service.acl, 'subscribe', sub.topic, service.username, client.id, true)) return done(null, sub);
        counters.inc('broker_subscribe_denied_total');
        log.warn({ account: service.username, topic: sub.topic.slice(0, 200) }, "subscription refused by the account's ACL");
        return done(null, null);
      }
      const session = auth.sessions.get(client);
      if (session?.topics.subscribe.has(sub.topic)) return done(null, sub);
      counters.inc('broker_subscribe_denied_total');
      log.warn(
        { device: session?.device.id ?? client.id, topic: sub.topic.slice(0, 200) },
        "subscription outside the device's own topics refused",
      );
      done(null, null); // SUBACK 0x80 for this filter; the connection stays up
    },
  };
}
