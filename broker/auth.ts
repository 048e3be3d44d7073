/**
 * Who may connect: each registered device with its own secret (or its scrypt hash) and client
 * id, and the site's service accounts. Unknown ids and wrong passwords get the same answer on
 * the wire, so ids cannot be probed; every refusal is counted by reason and logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import type { AuthenticateError, Client } from 'aedes';
import { verifySecret } from '../core/credentials.js';
import type { ServiceAccount } from './accounts.js';
import { addSubDevice, type DeviceTopics, deviceTopics } from './acl.js';
import type { BrokerOptions, DeviceSession, RegisteredDevice } from './types.js';

// CONNACK return codes (MQTT 3.1.1 table 3.1).
export const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Only the digest of a secret is kept, so comparison time does not depend on the secret's length. */
function digest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

interface Account {
  device: RegisteredDevice;
  secretDigest?: Buffer;
  secretHash?: string;
  topics: DeviceTopics;
}

/** Whether `password` is the account's secret; asynchronous only for scrypt hashes. */
function secretMatches(account: { secretDigest?: Buffer; secretHash?: string }, password: Buffer): boolean | Promise<boolean> {
  if (account.secretDigest) return timingSafeEqual(digest(password), account.secretDigest);
  if (account.secretHash) return verifySecret(password.toString('utf8'), account.secretHash).catch(() => false);
  return false;
}

function sessionOf(account: Account): DeviceSession {
  return { device: account.device.info, kind: account.device.kind, options: account.device.options, topics: account.topics };
}

type Done = (error: AuthenticateError | null, success: boolean | null) => void;

export class BrokerAuth {
  private readonly accounts = new Map<string, Account>();
  private readonly serviceAccounts = new Map<string, { account: ServiceAccount; secretDigest?: Buffer; secretHash?: string }>();
  /** The device behind each authenticated connection. */
  readonly sessions = new WeakMap<Client, DeviceSession>();
  /** The service account behind each authenticated connection. */
  readonly services = new WeakMap<Client, ServiceAccount>();
  /** Connections whose CONNECT carried no client id (aedes has made one up by the time it authenticates). */
  private readonly anonymousIds = new WeakSet<Client>();

  constructor(private readonly opts: Pick<BrokerOptions, 'devices' | 'accounts' | 'counters' | 'log' | 'beforeConnack' | 'tls'>) {
    for (const d of opts.devices) this.addDevice(d);
    for (const d of opts.devices) if (d.via) this.addSubDevice(d);
    for (const a of opts.accounts ?? []) {
      this.serviceAccounts.set(a.username, {
        account: a,
        ...(a.password !== undefined ? { secretDigest: digest(a.password) } : {}),
        ...(a.passwordHash !== undefined ? { secretHash: a.passwordHash } : {}),
      });
    }
  }

  addDevice(d: RegisteredDevice): void {
    this.accounts.set(d.info.id, {
      device: d,
      ...(d.secret !== undefined ? { secretDigest: digest(d.secret) } : {}),
      ...(d.secretHash !== undefined ? { secretHash: d.secretHash } : {}),
      topics: deviceTopics(d.kind, d.info.id),
    });
  }

  /** A sub-device's topics become its gateway device's too, published on its behalf. */
  private addSubDevice(d: RegisteredDevice): void {
    const gateway = d.via ? this.accounts.get(d.via) : undefined;
    if (gateway) addSubDevice(gateway.topics, d.kind, d.info.id);
  }

  removeDevice(id: string): boolean {
    return this.accounts.delete(id);
  }

  /** The session a device would have, whether or not it is connected (a dead node's Will speaks for it). */
  deviceSession(id: string): DeviceSession | undefined {
    const account = this.accounts.get(id);
    return account ? sessionOf(account) : undefined;
  }

  /**
   * On a listener that requires client certificates, the certificate must be the connecting
   * account's own: its CN or one of its subjectAltNames is the device id (or the account's name).
   * A certificate the site CA signed for another device does not do.
   */
  private certificateFits(client: Client, name: string): boolean {
    if (!this.opts.tls?.requireClientCert) return true;
    const conn = client.conn as unknown as { certificateNames?: () => string[] };
    const names = conn.certificateNames?.() ?? [];
    // The plain listener (no certificate at all) is governed by passwords alone.
    return names.length === 0 ? !(conn as { peerCertificate?: object }).peerCertificate : names.includes(name);
  }

  /** aedes' `preConnect` hook: what authentication must know of the CONNECT itself. */
  connecting(client: Client, packet: { clientId?: string }): void {
    if (!packet.clientId) this.anonymousIds.add(client);
  }

  /** aedes' `authenticate` hook. */
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: Done): void {
    const { counters, log } = this.opts;
    const refuse = (reason: string, code: number) => {
      counters.inc('broker_auth_refused_total', { reason });
      log.warn(
        { client: client.id.slice(0, 64), username: username?.slice(0, 64), reason, remote: (client.conn as net.Socket).remoteAddress },
        'device connection refused',
      );
      done(authError(`connection refused: ${reason}`, code), null);
    };
    // [MQTT-3.1.3-8] a zero-byte client id with CleanSession 0 gets CONNACK 2: there is no session to resume by it.
    if (this.anonymousIds.has(client) && !client.clean) return refuse('empty_client_id_with_session', IDENTIFIER_REJECTED);
    if (!username || !password) return refuse('anonymous', BAD_USERNAME_OR_PASSWORD);
    const service = this.serviceAccounts.get(username);
    if (service) {
      // A service account may not borrow a device's client id: it would take the device's session.
      if (this.accounts.has(client.id)) return refuse('client_id_of_a_device', IDENTIFIER_REJECTED);
      const accept = (ok: boolean) => {
        if (!ok) return refuse('bad_password', BAD_USERNAME_OR_PASSWORD);
        if (!this.certificateFits(client, username)) return refuse('certificate_of_another', NOT_AUTHORIZED);
        this.services.set(client, service.account);
        counters.inc('broker_service_connects_total', { account: service.account.username });
        done(null, true);
      };
      const check = secretMatches(service, password);
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
      if (!this.certificateFits(client, username)) return refuse('certificate_of_another', NOT_AUTHORIZED);
      const session = sessionOf(account);
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
      const reason = account ? 'bad_password' : 'unknown_device';
      this.opts.counters.inc('broker_auth_refused_total', { reason });
      this.opts.log.warn({ device: deviceId.slice(0, 64), reason, transport: 'http' }, 'device refused');
      return undefined;
    }
    return sessionOf(account);
  }
}
