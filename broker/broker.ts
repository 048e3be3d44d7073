/**
 * The embedded MQTT broker devices connect to (aedes). It authenticates each device against the
 * registry, confines it to its own topics, and hands every accepted message to the gateway in
 * the same process through `onMessage`, before the PUBACK: a QoS 1 ack means the gateway has it,
 * and an ack for a message that raised an incident means the incident is on disk.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { once } from 'node:events';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import levelPersistence from 'aedes-persistence-level';
import redisPersistence from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import { Level } from 'level';
import type { DeviceInfo, DeviceKind } from '../devices/types.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import { verifySecret } from '../core/credentials.js';
import { deliverAtGrantedQos } from './delivery-qos.js';
import { deviceTopics, type DeviceTopics } from './acl.js';
import { allowed, type ServiceAccount } from './accounts.js';
import { PacketSizeGuard, RateLimiter } from './limits.js';
import { gridedgeError } from '../core/errors.js';

export interface RegisteredDevice {
  info: DeviceInfo;
  kind: DeviceKind;
  /** The secret itself (config file, environment) ... */
  secret?: string;
  /** ... or its scrypt hash (provisioned devices, `secretHash` in the config). */
  secretHash?: string;
  /** `devices[].options`, validated against the kind's schema. */
  options: Record<string, unknown>;
}

/** What the broker knows about an authenticated connection. */
export interface DeviceSession {
  device: DeviceInfo;
  kind: DeviceKind;
  options: Record<string, unknown>;
  topics: DeviceTopics;
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
  tls?: { port: number; cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert: boolean };
  brokerId: string;
  devices: Iterable<RegisteredDevice>;
  counters: Counters;
  log: Logger;
  /**
   * Called synchronously for every accepted device message. The PUBACK waits for a returned
   * promise; if it rejects, the device gets no PUBACK and its connection closes, so it resends.
   */
  onMessage(session: DeviceSession, channel: string, payload: Buffer, receivedAt: number): Promise<void> | undefined | void;
  onPresence?(session: DeviceSession, connected: boolean): void;
}

// CONNACK return codes (MQTT 3.1.1 table 3.1).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function digest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

interface Account {
  device: RegisteredDevice;
  /** Only the digest is kept, so comparison time does not depend on the secret's length. */
  secretDigest?: Buffer;
  secretHash?: string;
  topics: DeviceTopics;
}

/** Whether `password` is the account's secret; asynchronous only for scrypt hashes. */
function secretMatches(account: Account, password: Buffer): boolean | Promise<boolean> {
  if (account.secretDigest) return timingSafeEqual(digest(password), account.secretDigest);
  if (account.secretHash) return verifySecret(password.toString('utf8'), account.secretHash).catch(() => false);
  return false;
}

export class DeviceBroker {
  private aedes?: Aedes;
  private server?: net.Server;
  private tlsServer?: tls.Server;
  /** The plain listener's port, once started. */
  port?: number;
  /** The MQTTS listener's port, once started with one. */
  tlsPort?: number;
  private readonly accounts = new Map<string, Account>();
  private readonly sessions = new WeakMap<Client, DeviceSession>();
  private readonly services = new WeakMap<Client, ServiceAccount>();
  private readonly serviceAccounts = new Map<string, { account: ServiceAccount; secretDigest?: Buffer }>();
  private readonly stats = { messagesReceived: 0, messagesSent: 0, bytesReceived: 0, startedAt: Date.now() };
  private statsTimer?: NodeJS.Timeout;
  private db?: Level<string, Buffer>;
  private shared?: { persistence: ReturnType<typeof redisPersistence>; mq: MQEmitterRedis.MQEmitterRedis; conn: Redis };

  private readonly clients = new Map<string, Client>();
  private readonly limits: BrokerLimits;
  private readonly rates: RateLimiter;
  private sockets = 0;

  constructor(private readonly opts: BrokerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.rates = new RateLimiter(this.limits.maxPublishPerSecond, this.limits.publishBurst);
    for (const d of opts.devices) this.addDevice(d);
    for (const a of opts.accounts ?? []) {
      this.serviceAccounts.set(a.username, { account: a, ...(a.password !== undefined ? { secretDigest: digest(a.password) } : {}) });
    }
  }

  /** Lets a device in from now on. */
  addDevice(d: RegisteredDevice): void {
    this.accounts.set(d.info.id, {
      device: d,
      ...(d.secret !== undefined ? { secretDigest: digest(d.secret) } : {}),
      ...(d.secretHash !== undefined ? { secretHash: d.secretHash } : {}),
      topics: deviceTopics(d.kind, d.info.id),
    });
  }

  /** Refuses a device from now on, and closes its connection if it has one. */
  removeDevice(id: string): boolean {
    const had = this.accounts.delete(id);
    this.clients.get(id)?.close();
    this.clients.delete(id);
    return had;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** Starts listening; resolves to the bound port (useful with port 0). */
  async start(): Promise<number> {
    const { counters, log } = this.opts;
    const limits = this.limits;
    if (this.opts.cluster) {
      const url = this.opts.cluster.redisUrl;
      // Our own connections, so a Redis outage is logged once per connection, not printed as unhandled.
      const connect = (role: string) => {
        const c = new Redis(url, { maxRetriesPerRequest: 2 });
        c.on('error', (err: Error) => log.debug({ role, err: err.message }, 'broker redis connection error'));
        return c;
      };
      const conn = connect('persistence');
      this.shared = {
        conn,
        persistence: redisPersistence({ conn }),
        mq: new (MQEmitterRedis as unknown as new (o: MQEmitterRedis.MQEmitterOptions) => MQEmitterRedis.MQEmitterRedis)({
          pubConn: connect('publish'),
          subConn: connect('subscribe'),
        }),
      };
      // mqemitter-redis re-emits its connections' errors on `state`; unheard, one Redis outage would end the process.
      (this.shared.mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', (err: Error) =>
        log.debug({ err: err.message }, 'broker message bus: redis error'),
      );
    } else if (this.opts.persistenceDir) {
      this.db = new Level<string, Buffer>(this.opts.persistenceDir, { valueEncoding: 'binary' });
      await this.db.open();
    }
    const aedesId = this.opts.brokerId;
    const aedes = await Aedes.createBroker({
      id: aedesId,
      ...(this.shared
        ? { persistence: this.shared.persistence, mq: this.shared.mq }
        : this.db
          ? { persistence: levelPersistence(this.db) }
          : {}),
      connectTimeout: limits.connectTimeoutMs,
      maxClientsIdLength: 64,
      queueLimit: limits.maxQueued,
      maxInflightInbound: limits.maxInflight,
      keepaliveLimit: limits.maxKeepaliveSeconds,
      drainTimeout: 30_000,
      // In a pair: how often each node announces itself; silent for three of these, it is dead and
      // the other publishes its devices' Wills (see orphanWill).
      ...(this.opts.cluster ? { heartbeatInterval: (this.opts.cluster.heartbeatSeconds ?? 10) * 1000 } : {}),
      // Before any subscription exists: deliveries then go at the highest QoS granted (see delivery-qos.ts).
      preConnect: (client, _packet, done) => {
        deliverAtGrantedQos(client);
        done(null, true);
      },
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      // Every delivery, retained ones on subscribe included, is checked again topic by topic:
      // a subscription granted on a filter must not leak what a narrower rule denies.
      authorizeForward: (client, packet) => {
        const service = this.services.get(client);
        const ok = service
          ? allowed(service.acl, 'subscribe', packet.topic, service.username, client.id)
          : (this.sessions.get(client)?.topics.subscribe.has(packet.topic) ?? false);
        if (!ok) return null;
        this.stats.messagesSent++;
        return packet;
      },
      // The gateway takes each message here, not in `published`: for QoS 1 aedes writes the
      // PUBACK before it publishes, and authorizePublish is the last hook before that PUBACK
      // (and before PUBREC for QoS 2). It also sees the device's Will when the device drops off.
      authorizePublish: (client, packet, done) => {
        const fromNode = (packet as { brokerId?: string }).brokerId;
        if (this.opts.cluster && fromNode && fromNode !== aedesId) return this.orphanWill(client, packet, done);
        // $SYS is the broker's own voice; no client speaks there, whatever its ACL says.
        if (client && packet.topic.startsWith('$SYS/')) {
          counters.inc('broker_publish_denied_total');
          return done(new Error('$SYS topics are reserved to the broker'));
        }
        const service = client && this.services.get(client);
        if (client && service) {
          if (allowed(service.acl, 'publish', packet.topic, service.username, client.id)) {
            this.stats.messagesReceived++;
            return done(null);
          }
          counters.inc('broker_publish_denied_total');
          log.warn(
            { account: service.username, topic: packet.topic.slice(0, 200) },
            "publish refused by the account's ACL; connection closed",
          );
          return done(new Error(`publish to '${packet.topic.slice(0, 200)}' is not allowed for ${service.username}`));
        }
        const session = client && this.sessions.get(client);
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
        if (client.connected && !this.rates.take(session.device.id)) {
          counters.inc('broker_limit_breaches_total', { limit: 'publish_rate' });
          log.warn(
            { device: session.device.id, perSecond: limits.maxPublishPerSecond, burst: limits.publishBurst },
            'device publishes faster than allowed; connection closed',
          );
          return done(new Error('publish rate limit exceeded'));
        }
        this.stats.messagesReceived++;
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        const accepted = this.opts.onMessage(session, channel, payload, Date.now());
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
        const service = this.services.get(client);
        if (service) {
          if (allowed(service.acl, 'subscribe', sub.topic, service.username, client.id, true)) return done(null, sub);
          counters.inc('broker_subscribe_denied_total');
          log.warn({ account: service.username, topic: sub.topic.slice(0, 200) }, "subscription refused by the account's ACL");
          return done(null, null);
        }
        const session = this.sessions.get(client);
        if (session?.topics.subscribe.has(sub.topic)) return done(null, sub);
        counters.inc('broker_subscribe_denied_total');
        log.warn(
          { device: session?.device.id ?? client.id, topic: sub.topic.slice(0, 200) },
          "subscription outside the device's own topics refused",
        );
        done(null, null); // SUBACK 0x80 for this filter; the connection stays up
      },
    });
    aedes.on('clientReady', (client) => {
      const session = this.sessions.get(client);
      if (!session) return;
      this.clients.set(session.device.id, client);
      this.opts.onPresence?.(session, true);
    });
    aedes.on('clientDisconnect', (client) => {
      const session = this.sessions.get(client);
      if (!session) return;
      if (this.clients.get(session.device.id) === client) this.clients.delete(session.device.id);
      this.opts.onPresence?.(session, false);
    });
    // aedes reports failures of its own timers here (a Will it could not publish); unheard, they would end the process.
    (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.warn({ err: err.message }, 'broker error'));
    aedes.on('clientError', (client, err) => {
      log.debug({ client: client.id, err: err.message }, 'client error');
    });
    aedes.on('connectionError', (client, err) => {
      counters.inc('broker_connection_errors_total');
      log.debug({ client: client.id, err: err.message }, 'connection error');
    });
    this.aedes = aedes;

    const server = net.createServer((socket) => this.accept(socket, aedes));
    this.server = server;
    try {
      // events.once rejects when 'error' comes first: a port in use, an address not on this host.
      const listening = once(server, 'listening');
      server.listen(this.opts.port, this.opts.host);
      await listening;
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await this.db?.close();
      this.db = undefined;
      this.shared?.conn.disconnect();
      this.shared = undefined;
      this.aedes = undefined;
      this.server = undefined;
      throw gridedgeError('GE_ERR_LISTEN', 'device broker', `${this.opts.host}:${this.opts.port}`, (err as Error).message);
    }
    const address = server.address() as net.AddressInfo;
    this.port = address.port;
    log.info({ host: this.opts.host, port: address.port }, 'device broker listening');
    if (this.opts.tls) {
      const t = this.opts.tls;
      // A device that fails the handshake (wrong CA, no client certificate) never reaches MQTT: counted here.
      const secure = tls.createServer(
        {
          cert: t.cert,
          key: t.key,
          ...(t.ca ? { ca: t.ca } : {}),
          requestCert: t.requireClientCert,
          rejectUnauthorized: t.requireClientCert,
          minVersion: 'TLSv1.2',
        },
        (socket) => this.accept(socket, aedes),
      );
      secure.on('tlsClientError', (err) => {
        counters.inc('broker_tls_refused_total');
        log.debug({ err: err.message }, 'TLS handshake refused');
      });
      this.tlsServer = secure;
      try {
        const listeningTls = once(secure, 'listening');
        secure.listen(t.port, this.opts.host);
        await listeningTls;
      } catch (err) {
        await this.stop();
        throw gridedgeError('GE_ERR_LISTEN', 'device broker (MQTTS)', `${this.opts.host}:${t.port}`, (err as Error).message);
      }
      this.tlsPort = (secure.address() as net.AddressInfo).port;
      log.info({ host: this.opts.host, port: this.tlsPort, requireClientCert: t.requireClientCert }, 'device broker listening for MQTTS');
    }
    const every = this.opts.statsIntervalSeconds ?? 10;
    if (every > 0) {
      this.statsTimer = setInterval(() => this.publishStats(), every * 1000);
      this.statsTimer.unref();
    }
    return address.port;
  }

  /** Guards each new socket: connection count first, then every packet's size, then aedes. */
  private accept(socket: net.Socket, aedes: Aedes): void {
    const { counters, log } = this.opts;
    const remote = socket.remoteAddress;
    if (this.sockets >= this.limits.maxConnections) {
      counters.inc('broker_limit_breaches_total', { limit: 'connections' });
      log.warn({ remote, max: this.limits.maxConnections }, 'too many connections; refused');
      socket.destroy();
      return;
    }
    this.sockets++;
    socket.once('close', () => this.sockets--);
    socket.on('data', (d: Buffer) => (this.stats.bytesReceived += d.length));
    const guard = new PacketSizeGuard(this.limits.maxPacketBytes, (announced) => {
      counters.inc('broker_limit_breaches_total', { limit: 'packet_size' });
      log.warn({ remote, announced, max: this.limits.maxPacketBytes }, 'packet larger than allowed; connection closed');
    });
    guard.once('error', () => socket.destroy());
    socket.once('error', () => guard.destroy());
    socket.pipe(guard);
    const stream = Duplex.from({ readable: guard, writable: socket });
    Object.assign(stream, { remoteAddress: remote });
    socket.once('close', () => stream.destroy());
    aedes.handle(stream);
  }

  /**
   * A Will of a device whose node died (an HA pair): the surviving node's aedes publishes it once
   * the dead node has been silent for three heartbeats. If the device has meanwhile reconnected
   * here, the Will is stale (it would mark a live device offline) and is dropped. Otherwise
   * it is the device's last word, and goes to the pipeline as its own node would have sent it.
   */
  private orphanWill(
    client: Client | null,
    packet: { topic: string; payload: Buffer | string; brokerId?: string; clientId?: string; retain?: boolean; qos?: number },
    done: (err?: Error | null) => void,
  ): void {
    const { counters, log } = this.opts;
    const id = packet.clientId ?? '';
    // Refusing is not an option here: aedes publishes these Wills from a batch whose rejections
    // nobody handles, so an error would end the process. A Will not to be delivered is turned into
    // a broker notice on $SYS instead (aedes then deletes the Will as published).
    const drop = (reason: string) => {
      log.info({ device: id.slice(0, 64), node: packet.brokerId, reason }, "a dead node's Will dropped");
      Object.assign(packet, {
        topic: '$SYS/gridedge/dropped-wills',
        payload: Buffer.from(JSON.stringify({ device: id.slice(0, 64), node: packet.brokerId, reason })),
        retain: false,
        qos: 0,
      });
      done(null);
    };
    const account = this.accounts.get(id);
    const channel = account?.topics.publish.get(packet.topic);
    if (!account || channel === undefined || (client && client.id !== id)) {
      counters.inc('broker_publish_denied_total');
      return drop('not a topic of this device');
    }
    if (this.clients.has(id)) {
      counters.inc('broker_stale_wills_total');
      return drop('stale: the device is connected again');
    }
    const session: DeviceSession = {
      device: account.device.info,
      kind: account.device.kind,
      options: account.device.options,
      topics: account.topics,
    };
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    log.info({ device: id, node: packet.brokerId }, "a dead node's device did not come back: its Will is published");
    const accepted = this.opts.onMessage(session, channel, payload, Date.now());
    if (!accepted) return done(null);
    // Not stored: published anyway (a refusal would end the process, see above); the device is gone either way.
    accepted.then(
      () => done(null),
      (err: unknown) => {
        log.warn({ device: id, err: (err as Error).message }, "a dead node's Will could not be fully stored");
        done(null);
      },
    );
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const { counters, log } = this.opts;
    const refuse = (reason: string, code: number) => {
      counters.inc('broker_auth_refused_total', { reason });
      log.warn(
        { client: client.id.slice(0, 64), username: username?.slice(0, 64), reason, remote: (client.conn as net.Socket).remoteAddress },
        'device connection refused',
      );
      done(authError(`connection refused: ${reason}`, code), null);
    };
    if (!username || !password) return refuse('anonymous', BAD_USERNAME_OR_PASSWORD);
    const service = this.serviceAccounts.get(username);
    if (service) {
      // A service account may not borrow a device's client id: it would take the device's session.
      if (this.accounts.has(client.id)) return refuse('client_id_of_a_device', IDENTIFIER_REJECTED);
      const check = service.secretDigest
        ? timingSafeEqual(digest(password), service.secretDigest)
        : service.account.passwordHash
          ? verifySecret(password.toString('utf8'), service.account.passwordHash).catch(() => false)
          : false;
      const accept = (ok: boolean) => {
        if (!ok) return refuse('bad_password', BAD_USERNAME_OR_PASSWORD);
        this.services.set(client, service.account);
        counters.inc('broker_service_connects_total', { account: service.account.username });
        done(null, true);
      };
      if (typeof check === 'boolean') accept(check);
      else void check.then(accept);
      return;
    }
    const account = this.accounts.get(username);
    // Unknown device and wrong password get the same answer on the wire: no probing for ids.
    if (!account) return refuse('unknown_device', BAD_USERNAME_OR_PASSWORD);
    const accept = (ok: boolean) => {
      if (!ok) return refuse('bad_password', BAD_USERNAME_OR_PASSWORD);
      // One device, one client id: otherwise a device could take over another's session.
      if (client.id !== username) return refuse('client_id_mismatch', IDENTIFIER_REJECTED);
      const session = { device: account.device.info, kind: account.device.kind, options: account.device.options, topics: account.topics };
      const ready = this.opts.beforeConnack?.(session);
      if (!ready) {
        this.sessions.set(client, session);
        return done(null, true);
      }
      ready.then(
        () => {
          this.sessions.set(client, session);
          done(null, true);
        },
        (err: unknown) => {
          counters.inc('broker_auth_refused_total', { reason: 'state_unavailable' });
          log.warn(
            { device: username, err: (err as Error).message },
            'device state could not be loaded; refused for now (server unavailable), it will retry',
          );
          done(authError('server unavailable', SERVER_UNAVAILABLE), null);
        },
      );
    };
    const match = secretMatches(account, password);
    if (typeof match === 'boolean') accept(match);
    else void match.then(accept);
  }

  /**
   * Checks a device's credentials for a transport other than MQTT (HTTP uploads), with the same
   * accounts, comparison and counters as a CONNECT.
   */
  async sessionFor(deviceId: string, secret: string): Promise<DeviceSession | undefined> {
    const account = this.accounts.get(deviceId);
    const ok = account !== undefined && (await secretMatches(account, Buffer.from(secret)));
    if (!ok || !account) {
      this.opts.counters.inc('broker_auth_refused_total', { reason: account ? 'bad_password' : 'unknown_device' });
      this.opts.log.warn(
        { device: deviceId.slice(0, 64), reason: account ? 'bad_password' : 'unknown_device', transport: 'http' },
        'device refused',
      );
      return undefined;
    }
    return { device: account.device.info, kind: account.device.kind, options: account.device.options, topics: account.topics };
  }

  /** Sends a command or reply to a device on one of its subscribe topics. */
  publishToDevice(topic: string, payload: Buffer | string, qos: 0 | 1 = 1): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.reject(new Error('broker not started'));
    return new Promise((resolve, reject) => {
      aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** `$SYS/gridedge/…`, as mosquitto publishes `$SYS/broker/…`: for service accounts whose ACL allows it. */
  publishStats(): void {
    const aedes = this.aedes;
    if (!aedes) return;
    const values: Record<string, number> = {
      'clients/connected': aedes.connectedClients,
      'messages/received': this.stats.messagesReceived,
      'messages/sent': this.stats.messagesSent,
      'bytes/received': this.stats.bytesReceived,
      uptime: Math.round((Date.now() - this.stats.startedAt) / 1000),
    };
    // In an HA pair each node speaks for itself: retained figures would otherwise overwrite each other.
    const root = this.opts.cluster ? `$SYS/gridedge/nodes/${this.opts.cluster.node}` : '$SYS/gridedge';
    for (const [name, value] of Object.entries(values)) {
      aedes.publish(
        { cmd: 'publish', topic: `${root}/${name}`, payload: Buffer.from(String(value)), qos: 0, retain: true, dup: false },
        () => undefined,
      );
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.statsTimer);
    const aedes = this.aedes;
    const server = this.server;
    const secure = this.tlsServer;
    this.aedes = undefined;
    this.server = undefined;
    this.tlsServer = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (secure) await new Promise<void>((resolve) => secure.close(() => resolve()));
    await this.db?.close();
    this.db = undefined;
    // Not persistence.destroy(): it unsubscribes through the broker's emitter, closed by now, and never returns.
    this.shared?.conn.disconnect();
    this.shared = undefined;
  }
}
