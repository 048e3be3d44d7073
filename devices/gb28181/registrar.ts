/**
 * The registrar (GB/T 28181-2016 §9.1, RFC 3261 §10): devices REGISTER with digest
 * authentication (§9.1.2.1: 401 with a challenge, then the REGISTER again with Authorization),
 * for Expires seconds; Expires 0 unregisters (§9.1.2.2). The 200 carries Date, local time
 * without a zone, so devices set their clocks from it (§9.10 校时). A registration that is not
 * refreshed in time ends. Unknown ids and wrong passwords get 403, counted and logged.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Counters } from '../../core/counters.js';
import { DigestAuth } from '../../core/http-digest.js';
import type { Logger } from '../../core/log.js';
import { toLocal } from '../../core/time.js';
import type { IncomingRequest } from './sip/endpoint.js';
import { parseNameAddr, parseUri } from './sip/message.js';
import type { SipPeer } from './sip/transport.js';

export type GbVersion = '2016' | '2022';

export interface Registration {
  id: string;
  /** Where its requests come from: the gateway's requests go there (its NAT mapping). */
  peer: SipPeer;
  /** Its Contact URI, as it says. */
  contact: string;
  registeredAt: number;
  expiresAt: number;
  userAgent?: string;
  /** From X-GB-Ver (2022 edition, Annex I: 3.0); 2016 without it. */
  version: GbVersion;
  /** In the config (false: admitted by the site password with acceptUnlisted). */
  listed: boolean;
}

export interface RegistrarEvents {
  registered: [reg: Registration, first: boolean];
  unregistered: [id: string, why: 'unregistered' | 'expired'];
}

export interface RegistrarOptions {
  sipId: string;
  domain: string;
  /** A device's password: its own, or the site's; undefined refuses it. */
  password: (id: string) => { password: string; listed: boolean } | undefined;
  minExpires: number;
  maxExpires: number;
  timezone: string;
  counters: Counters;
  log: Logger;
  now?: () => number;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export class Registrar extends EventEmitter<RegistrarEvents> {
  private readonly table = new Map<string, Registration>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly digest: DigestAuth;
  private readonly now: () => number;
  /** Refusals logged per id per minute at most: a misconfigured camera retries every few seconds. */
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly opts: RegistrarOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.digest = new DigestAuth(opts.domain, (user) => {
      const p = opts.password(user);
      return p ? md5(`${user}:${opts.domain}:${p.password}`) : undefined;
    });
  }

  get(id: string): Registration | undefined {
    return this.table.get(id);
  }

  list(): Registration[] {
    return [...this.table.values()];
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  handle({ req, peer, reply }: IncomingRequest): void {
    const { counters } = this.opts;
    const from = parseNameAddr(req.get('from') ?? '');
    const id = (from && parseUri(from.uri)?.user) ?? '';
    const refuse = (status: number, result: string, why: string) => {
      counters.inc('gb28181_register_total', { result });
      this.logRefusal(id, peer, why);
      reply(status);
    };
    if (!/^\d{20}$/.test(id)) return refuse(400, 'bad_id', `"${id.slice(0, 40)}" is not a 20-digit GB/T 28181 id`);
    const known = this.opts.password(id);
    if (!known) return refuse(403, 'unknown', 'not a device of this gateway (add it under gb28181.devices)');
    const auth = req.get('authorization');
    const checked = this.digest.verify('REGISTER', (uri) => this.forUs(uri, req.uri), auth);
    if (!checked.ok) {
      // Wrong credentials are refused (§9.1.2.1); anything else (none yet, a nonce from before a
      // restart or expired, a nonce count used again) gets a fresh challenge.
      if (!/wrong credentials|unknown user|another URI|algorithm|incomplete/.test(checked.reason)) {
        counters.inc('gb28181_register_total', { result: 'challenged' });
        reply(401, { headers: [['www-authenticate', checked.challenge]] });
        return;
      }
      return refuse(403, 'auth_failed', checked.reason);
    }
    if (checked.user !== id) return refuse(403, 'auth_failed', `authorized as ${checked.user}, registering ${id}`);
    const contactHeader = req.get('contact') ?? '';
    const contact = parseNameAddr(contactHeader);
    const asked = Number(contact?.params.expires ?? req.get('expires') ?? 3600);
    if (!Number.isFinite(asked) || asked < 0) return refuse(400, 'bad_expires', `Expires "${req.get('expires')}"`);
    if (asked === 0 || contactHeader.trim() === '*') {
      counters.inc('gb28181_register_total', { result: 'unregistered' });
      reply(200, { headers: [['date', toLocal(this.now(), this.opts.timezone)]] });
      this.drop(id, 'unregistered');
      return;
    }
    if (asked < this.opts.minExpires) {
      counters.inc('gb28181_register_total', { result: 'too_brief' });
      reply(423, { headers: [['min-expires', this.opts.minExpires]] });
      return;
    }
    const expires = Math.min(asked, this.opts.maxExpires);
    const now = this.now();
    const version: GbVersion = (req.get('x-gb-ver') ?? '').trim().startsWith('3') ? '2022' : '2016';
    const first = !this.table.has(id);
    const reg: Registration = {
      id,
      peer,
      contact: contact?.uri ?? `sip:${id}@${peer.address}:${peer.port}`,
      registeredAt: first ? now : this.table.get(id)!.registeredAt,
      expiresAt: now + expires * 1000,
      ...(req.get('user-agent') ? { userAgent: req.get('user-agent') } : {}),
      version,
      listed: known.listed,
    };
    this.table.set(id, reg);
    this.arm(id, expires);
    counters.inc('gb28181_register_total', { result: 'ok' });
    reply(200, {
      headers: [
        ['contact', `${contactHeader.replace(/;expires=\d+/i, '')};expires=${expires}`],
        ['expires', expires],
        ['date', toLocal(now, this.opts.timezone)],
        ...(version === '2022' ? ([['x-gb-ver', '3.0']] as Array<[string, string]>) : []),
      ],
    });
    if (first)
      this.opts.log.info(
        { device: id, from: `${peer.address}:${peer.port}`, transport: peer.transport, version },
        'gb28181: device registered',
      );
    this.emit('registered', reg, first);
  }

  /**
   * Whether a digest's URI names this server (RFC 3261 §22.4 wants the Request-URI; cameras also
   * send the bare domain, and SIPp our address): the Request-URI itself, or a SIP URI whose user,
   * if any, is our id and whose host is our domain or an address.
   */
  private forUs(digestUri: string, requestUri: string): boolean {
    if (digestUri === requestUri) return true;
    const u = parseUri(digestUri);
    if (!u || (u.user !== undefined && u.user !== this.opts.sipId)) return false;
    return u.host === this.opts.domain || /^[\d.]+$|^\[[0-9a-f:.]+\]$/i.test(u.host);
  }

  /** A registration lasts until its Expires, plus a little for a refresh on its way. */
  private arm(id: string, expires: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => this.drop(id, 'expired'), expires * 1000 + Math.min(30_000, expires * 100)),
    );
  }

  private drop(id: string, why: 'unregistered' | 'expired'): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    if (!this.table.delete(id)) return;
    this.opts.log.info({ device: id, why }, 'gb28181: device registration ended');
    this.emit('unregistered', id, why);
  }

  private logRefusal(id: string, peer: SipPeer, why: string): void {
    const key = `${id}|${peer.address}`;
    const now = this.now();
    if (now - (this.lastLogged.get(key) ?? 0) < 60_000) return;
    this.lastLogged.set(key, now);
    if (this.lastLogged.size > 10_000) this.lastLogged.clear();
    this.opts.log.warn({ device: id || undefined, from: `${peer.address}:${peer.port}`, why }, 'gb28181: REGISTER refused');
  }
}
