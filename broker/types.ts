/** What the broker is given and gives: devices, their sessions, limits, and the options of one broker. */
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import type { DeviceInfo, DeviceKind } from '../devices/types.js';
import type { ServiceAccount } from './accounts.js';
import type { DeviceTopics } from './acl.js';

export interface RegisteredDevice {
  info: DeviceInfo;
  kind: DeviceKind;
  /** The secret itself (config file, environment) ... */
  secret?: string;
  /** ... or its scrypt hash (provisioned devices, `secretHash` in the config). */
  secretHash?: string;
  /** `devices[].options`, validated against the kind's schema. */
  options: Record<string, unknown>;
  /** The gateway device whose connection carries this one's messages (a DJI dock, for its aircraft). */
  via?: string;
}

/** What the broker knows about an authenticated connection. */
export interface DeviceSession {
  device: DeviceInfo;
  kind: DeviceKind;
  options: Record<string, unknown>;
  topics: DeviceTopics;
}

/** How a PUBLISH arrived: QoS 1/2 packets carry an id, and DUP when the device sends one again [MQTT-3.3.1-1]. */
export interface Delivery {
  qos: 0 | 1 | 2;
  messageId?: number;
  dup: boolean;
}

export interface BrokerLimits {
  maxPacketBytes: number;
  maxConnections: number;
  connectTimeoutMs: number;
  maxPublishPerSecond: number;
  publishBurst: number;
  maxInflight: number;
  maxQueued: number;
  maxKeepaliveSeconds: number;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  maxPacketBytes: 4 * 1024 * 1024,
  maxConnections: 20_000,
  connectTimeoutMs: 10_000,
  maxPublishPerSecond: 50,
  publishBurst: 200,
  maxInflight: 100,
  maxQueued: 100,
  maxKeepaliveSeconds: 0,
};

export interface BrokerOptions {
  host: string;
  port: number;
  limits?: Partial<BrokerLimits>;
  /** Site integrations with their own ACLs (they never feed the device pipeline). */
  accounts?: ServiceAccount[];
  /** Seconds between `$SYS/gridedge/…` statistics (0: none). */
  statsIntervalSeconds?: number;
  /**
   * Where persistent sessions (clean session 0), their subscriptions and the QoS 1 messages
   * queued for offline devices are kept (LevelDB), so they survive a restart. Without it they
   * live in memory only.
   */
  persistenceDir?: string;
  /**
   * An HA pair: sessions, subscriptions, retained and queued messages in Redis
   * (aedes-persistence-redis), and messages between the two nodes' clients through it
   * (mqemitter-redis), instead of `persistenceDir`.
   */
  cluster?: { redisUrl: string; node: string; heartbeatSeconds?: number };
  /**
   * Called after a device's credentials are accepted, before its CONNACK: an HA pair loads the
   * device's rule state here. If it rejects, the device is refused (server unavailable) and retries.
   */
  beforeConnack?(session: DeviceSession): Promise<void> | undefined;
  /** An MQTTS listener beside the plain one: same accounts, ACLs and limits. */
  tls?: {
    port: number;
    cert: Buffer;
    key: Buffer;
    ca?: Buffer;
    requireClientCert: boolean;
    /** A CRL file of the CA: read at start, and again whenever it changes. */
    crlFile?: string;
  };
  brokerId: string;
  devices: Iterable<RegisteredDevice>;
  counters: Counters;
  log: Logger;
  /**
   * Called synchronously for every accepted device message. The PUBACK waits for a returned
   * promise; if it rejects, the device gets no PUBACK and its connection closes, so it resends.
   */
  onMessage(
    session: DeviceSession,
    channel: string,
    payload: Buffer,
    receivedAt: number,
    delivery?: Delivery,
  ): Promise<void> | undefined | void;
  onPresence?(session: DeviceSession, connected: boolean): void;
}
