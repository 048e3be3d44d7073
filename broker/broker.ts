/**
 * The embedded MQTT broker devices connect to (aedes). It authenticates each device against the
 * registry (auth.ts), confines it to its own topics (hooks.ts), and hands every accepted message
 * to the gateway in the same process through `onMessage`, before the PUBACK: a QoS 1 ack means
 * the gateway has it, and an ack for a message that raised an incident means the incident is on disk.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { gridedgeError } from '../core/errors.js';
import { BrokerAuth } from './auth.js';
import { deliverAtGrantedQos } from './delivery-qos.js';
import { authorizeHooks } from './hooks.js';
import { PacketSizeGuard, RateLimiter } from './limits.js';
import { type BrokerPersistence, openPersistence } from './persistence.js';
import {
  type BrokerLimits,
  type BrokerOptions,
  DEFAULT_LIMITS,
  type Delivery,
  type DeviceSession,
  type RegisteredDevice,
} from './types.js';
import { DeviceConnection } from './connection.js';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';

export type { BrokerLimits, BrokerOptions, Delivery, DeviceSession, RegisteredDevice };
export { DEFAULT_LIMITS };

export class DeviceBroker {
  private aedes?: Aedes;
  private server?: net.Server;
  private tlsServer?: tls.Server;
  /** The plain listener's port, once started. */
  port?: number;
  /** The MQTTS listener's port, once started with one. */
  tlsPort?: number;
  private readonly auth: BrokerAuth;
  private readonly stats = { messagesReceived: 0, messagesSent: 0, bytesReceived: 0, startedAt: Date.now() };
  private statsTimer?: NodeJS.Timeout;
  private persistence?: BrokerPersistence;
  /** The connection of each device connected here, by device id. */
  private readonly clients = new Map<string, Client>();
  private readonly limits: BrokerLimits;
  private readonly rates: RateLimiter;
  private sockets = 0;
  private unwatch?: () => void;

  constructor(private readonly opts: BrokerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.rates = new RateLimiter(this.limits.maxPublishPerSecond, this.limits.publishBurst);
    this.auth = new BrokerAuth(opts);
  }

  /** Lets a device in from now on. */
  addDevice(d: RegisteredDevice): void {
    this.auth.addDevice(d);
  }

  /** Refuses a device from now on, and closes its connection if it has one. */
  removeDevice(id: string): boolean {
    const had = this.auth.removeDevice(id);
    this.clients.get(id)?.close();
    this.clients.delete(id);
    return had;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** The session of a registered device, for messages that reach the gateway another way (a source). */
  deviceSession(deviceId: string): DeviceSession | undefined {
    return this.auth.deviceSession(deviceId);
  }

  /** Checks a device's credentials for a transport other than MQTT (HTTP uploads), as a CONNECT would. */
  sessionFor(deviceId: string, secret: string): Promise<DeviceSession | undefined> {
    return this.auth.sessionFor(deviceId, secret);
  }

  /** Starts listening; resolves to the bound port (useful with port 0). */
  async start(): Promise<number> {
    const { counters, log } = this.opts;
    const limits = this.limits;
    const persistence = await openPersistence(
      {
        ...(this.opts.cluster ? { redisUrl: this.opts.cluster.redisUrl } : {}),
        ...(this.opts.persistenceDir ? { persistenceDir: this.opts.persistenceDir } : {}),
      },
      log,
    );
    this.persistence = persistence;
    const aedesId = this.opts.brokerId;
    const auth = this.auth;
    const aedes = await Aedes.createBroker({
      id: aedesId,
      ...persistence.aedes,
      connectTimeout: limits.connectTimeoutMs,
      maxClientsIdLength: 64,
      queueLimit: limits.maxQueued,
      maxInflightInbound: limits.maxInflight,
      keepaliveLimit: limits.maxKeepaliveSeconds,
      drainTimeout: 30_000,
      // In a pair: how often each node announces itself; silent for three of these, it is dead and
      // the other publishes its devices' Wills (see wills.ts).
      ...(this.opts.cluster ? { heartbeatInterval: (this.opts.cluster.heartbeatSeconds ?? 10) * 1000 } : {}),
      // Before any subscription exists: deliveries then go at the highest QoS granted (see delivery-qos.ts).
      preConnect: (client, packet, done) => {
        deliverAtGrantedQos(client);
        auth.connecting(client, packet);
        done(null, true);
      },
      authenticate: (client, username, password, done) => auth.authenticate(client, username, password, done),
      ...authorizeHooks({
        auth,
        rates: this.rates,
        limits,
        opts: this.opts,
        aedesId,
        connected: (id) => this.clients.has(id),
        stats: this.stats,
      }),
    });
    const remoteOf = (client: Client) => (client.conn as unknown as { remoteAddress?: string }).remoteAddress;
    aedes.on('clientReady', (client) => {
      const session = auth.sessions.get(client);
      const service = auth.services.get(client);
      if (service) log.info({ account: service.username, client: client.id, remote: remoteOf(client) }, 'service account connected');
      if (!session) return;
      this.clients.set(session.device.id, client);
      log.info({ device: session.device.id, kind: session.kind.kind, remote: remoteOf(client), clean: client.clean }, 'device connected');
      this.opts.onPresence?.(session, true);
    });
    aedes.on('clientDisconnect', (client) => {
      const session = auth.sessions.get(client);
      if (!session) return;
      if (this.clients.get(session.device.id) === client) this.clients.delete(session.device.id);
      log.info({ device: session.device.id }, 'device disconnected');
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
      await persistence.close();
      this.persistence = undefined;
      this.aedes = undefined;
      this.server = undefined;
      throw gridedgeError('GE_ERR_LISTEN', 'device broker', `${this.opts.host}:${this.opts.port}`, (err as Error).message);
    }
    const address = server.address() as net.AddressInfo;
    this.port = address.port;
    log.info({ host: this.opts.host, port: address.port }, 'device broker listening');
    if (this.opts.tls) await this.listenTls(aedes);
    const every = this.opts.statsIntervalSeconds ?? 10;
    if (every > 0) {
      this.statsTimer = setInterval(() => this.publishStats(), every * 1000);
      this.statsTimer.unref();
    }
    return address.port;
  }

  /** The MQTTS listener beside the plain one: same accounts, ACLs and limits. */
  private async listenTls(aedes: Aedes): Promise<void> {
    const { counters, log } = this.opts;
    const t = this.opts.tls!;
    const context = (): tls.SecureContextOptions => ({
      cert: t.cert,
      key: t.key,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.crlFile ? { crl: readFileSync(t.crlFile) } : {}),
      minVersion: 'TLSv1.2',
    });
    // A device that fails the handshake (wrong CA, no client certificate, revoked) never reaches MQTT: counted here.
    const secure = tls.createServer({ ...context(), requestCert: t.requireClientCert, rejectUnauthorized: t.requireClientCert }, (socket) =>
      this.accept(socket, aedes),
    );
    if (t.crlFile) {
      const crlFile = t.crlFile;
      // A revocation takes effect without a restart: the CA's new list is picked up within seconds.
      watchFile(crlFile, { interval: 5000, persistent: false }, (now, before) => {
        if (now.mtimeMs === before.mtimeMs) return;
        try {
          secure.setSecureContext(context());
          log.info({ crl: crlFile }, 'certificate revocation list reloaded');
        } catch (err) {
          log.error({ crl: crlFile, err: (err as Error).message }, 'certificate revocation list unreadable; the previous one stays');
        }
      });
      this.unwatch = () => unwatchFile(crlFile);
    }
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
    const stream = new DeviceConnection(socket, guard);
    socket.once('close', () => stream.destroy());
    aedes.handle(stream);
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
    this.unwatch?.();
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
    await this.persistence?.close();
    this.persistence = undefined;
  }
}
