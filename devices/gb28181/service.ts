/**
 * The gateway as the community's GB/T 28181 SIP server: cameras and NVRs register to it
 * (registrar.ts), keep alive (§9.6: a Keepalive MESSAGE every period; three missed and the
 * device is offline), answer its Catalog, DeviceInfo and DeviceStatus queries (§9.5) and report
 * alarms (§9.4). A request is only read once its sender is known: a MESSAGE or NOTIFY counts
 * only from a registered device, from the address it registered from, and only under its own
 * id or one of its channels'. Live video (live.ts) and the upward registration (cascade.ts) use
 * the same SIP port and claim their requests before this service answers the rest.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import { alarmResponse, type GbAlarm, parseAlarm } from './alarm.js';
import { type CatalogItem, CatalogCollector, catalogPart } from './catalog.js';
import type { Gb28181Settings } from './config.js';
import { FloodGuard, floodClass } from './guard.js';
import {
  type Charset,
  MANSCDP_CONTENT_TYPE,
  ManscdpError,
  type ManscdpDocument,
  parseManscdp,
  text0,
  writeManscdp,
  type XmlChild,
} from './manscdp.js';
import { type Registration, Registrar } from './registrar.js';
import { type IncomingRequest, newTag, SipEndpoint } from './sip/endpoint.js';
import { parseNameAddr, parseUri, SipRequest, type SipResponse } from './sip/message.js';
import { type SipPeer, SipTransport } from './sip/transport.js';

export const USER_AGENT = 'gridedge GB/T 28181';
const ALLOW = 'REGISTER, MESSAGE, NOTIFY, SUBSCRIBE, INVITE, ACK, BYE, CANCEL, OPTIONS, INFO';
const QUERY_TIMEOUT_MS = 10_000;

export interface DeviceAnswers {
  info?: Record<string, string>;
  status?: Record<string, string>;
}

export interface GbDeviceView {
  id: string;
  name?: string;
  grid: string;
  listed: boolean;
  registered: boolean;
  registration?: Omit<Registration, 'peer'> & { address: string; transport: string };
  lastKeepaliveAt?: number;
  catalog: CatalogItem[];
  catalogAt?: number;
  info?: Record<string, string>;
  status?: Record<string, string>;
}

export interface Gb28181Events {
  /** Any message from a registered device: it is alive. */
  seen: [deviceId: string, at: number];
  registered: [deviceId: string, first: boolean];
  unregistered: [deviceId: string, why: string];
  catalog: [deviceId: string, items: CatalogItem[]];
  alarm: [alarm: GbAlarm, deviceId: string];
}

/** A request handler of a part of the service (live video, the cascade): true when it took the request. */
export type RequestHandler = (incoming: IncomingRequest) => boolean;

interface DeviceRecord {
  lastKeepaliveAt?: number;
  catalog: CatalogItem[];
  catalogAt?: number;
  answers: DeviceAnswers;
}

export class Gb28181Service extends EventEmitter<Gb28181Events> {
  readonly transport: SipTransport;
  readonly endpoint: SipEndpoint;
  readonly registrar: Registrar;
  private readonly guard: FloodGuard;
  private readonly handlers: RequestHandler[] = [];
  private readonly records = new Map<string, DeviceRecord>();
  private readonly waiting = new Map<string, { answer: (doc: ManscdpDocument) => void; cancel: () => void }>();
  private readonly catalogs = new CatalogCollector();
  private readonly floodLogged = new Map<string, number>();
  private sn = randomInt(1, 100_000);
  private cseq = randomInt(1, 10_000);

  constructor(
    readonly settings: Gb28181Settings,
    private readonly deps: { counters: Counters; log: Logger },
  ) {
    super();
    const { counters, log } = deps;
    this.transport = new SipTransport({ host: settings.host, port: settings.port, transports: settings.transports });
    this.transport.on('refused', (reason, peer, detail) => {
      counters.inc('gb28181_sip_refused_total', { reason });
      log.debug({ from: `${peer.address}:${peer.port}`, transport: peer.transport, reason, detail }, 'gb28181: unreadable SIP refused');
    });
    this.endpoint = new SipEndpoint({ transport: this.transport, publicHost: settings.publicHost, userAgent: USER_AGENT });
    const byId = new Map(settings.devices.map((d) => [d.id, d]));
    this.registrar = new Registrar({
      sipId: settings.sipId,
      domain: settings.domain,
      password: (id) => {
        const d = byId.get(id);
        const password = d?.password ?? settings.password;
        if (!password || (!d && !settings.acceptUnlisted)) return undefined;
        return { password, listed: d !== undefined };
      },
      minExpires: settings.minExpires,
      maxExpires: settings.maxExpires,
      timezone: settings.timezone,
      counters,
      log,
    });
    this.registrar.on('registered', (reg, first) => {
      this.emit('seen', reg.id, Date.now());
      this.emit('registered', reg.id, first);
      if (first) void this.afterRegister(reg);
    });
    this.registrar.on('unregistered', (id, why) => this.emit('unregistered', id, why));
    this.guard = new FloodGuard({
      register: settings.limits.registersPerMinute,
      invite: settings.limits.invitesPerMinute,
      message: settings.limits.messagesPerMinute,
    });
    this.endpoint.on('request', (inc) => this.dispatch(inc));
  }

  async start(): Promise<number> {
    return this.transport.start();
  }

  async stop(): Promise<void> {
    this.registrar.stop();
    this.endpoint.close();
    await this.transport.stop();
  }

  /** Live video and the cascade take their requests first. */
  addHandler(handler: RequestHandler): void {
    this.handlers.push(handler);
  }

  get port(): number | undefined {
    return this.transport.port;
  }

  nextSn(): number {
    this.sn = (this.sn % 2_000_000_000) + 1;
    return this.sn;
  }

  nextCSeq(): number {
    this.cseq = (this.cseq % 2_000_000_000) + 1;
    return this.cseq;
  }

  /** The charset to write to a device: its setting, else its edition's (GB18030 for 2022, GB2312 before). */
  charsetOf(deviceId: string): Charset {
    const d = this.settings.devices.find((x) => x.id === deviceId);
    return d?.charset ?? (this.registrar.get(deviceId)?.version === '2022' ? 'GB18030' : 'GB2312');
  }

  devices(): GbDeviceView[] {
    const ids = new Set([...this.settings.devices.map((d) => d.id), ...this.registrar.list().map((r) => r.id)]);
    return [...ids].map((id) => this.view(id)!);
  }

  view(id: string): GbDeviceView | undefined {
    const cfg = this.settings.devices.find((d) => d.id === id);
    const reg = this.registrar.get(id);
    if (!cfg && !reg) return undefined;
    const rec = this.records.get(id);
    const { peer, ...registration } = reg ?? ({} as Registration);
    return {
      id,
      ...(cfg?.name ? { name: cfg.name } : {}),
      grid: cfg?.grid ?? this.settings.grid,
      listed: cfg !== undefined,
      registered: reg !== undefined,
      ...(reg ? { registration: { ...registration, address: `${peer.address}:${peer.port}`, transport: peer.transport } } : {}),
      ...(rec?.lastKeepaliveAt ? { lastKeepaliveAt: rec.lastKeepaliveAt } : {}),
      catalog: rec?.catalog ?? [],
      ...(rec?.catalogAt ? { catalogAt: rec.catalogAt } : {}),
      ...(rec?.answers.info ? { info: rec.answers.info } : {}),
      ...(rec?.answers.status ? { status: rec.answers.status } : {}),
    };
  }

  /** A new request to a registered device (or one of its channels), From the gateway, To `target`. */
  newRequest(method: string, deviceId: string, target = deviceId, callId?: string): { req: SipRequest; peer: SipPeer } {
    const reg = this.registrar.get(deviceId);
    if (!reg) throw new Error(`GB/T 28181 device ${deviceId} is not registered`);
    const contact = parseUri(reg.contact);
    const hostPort = contact ? `${contact.host}${contact.port ? `:${contact.port}` : ''}` : `${reg.peer.address}:${reg.peer.port}`;
    const req = new SipRequest(method, `sip:${target}@${hostPort}`);
    req.add('from', `<sip:${this.settings.sipId}@${this.settings.domain}>;tag=${newTag()}`);
    req.add('to', `<sip:${target}@${this.settings.domain}>`);
    req.add('call-id', callId ?? `${randomBytes(10).toString('hex')}@${this.settings.publicHost}`);
    req.add('cseq', `${this.nextCSeq()} ${method}`);
    return { req, peer: reg.peer };
  }

  /** Sends a MANSCDP body to a device in a MESSAGE; resolves with its SIP answer. */
  async message(deviceId: string, body: Buffer, target = deviceId): Promise<SipResponse> {
    const { req, peer } = this.newRequest('MESSAGE', deviceId, target);
    req.add('content-type', MANSCDP_CONTENT_TYPE);
    req.body = body;
    return this.endpoint.request(req, peer);
  }

  /** A Query (§9.5) and the Response MESSAGE that answers it (by SN), within ten seconds. */
  async query(deviceId: string, cmdType: string, children: XmlChild[] = [], target = deviceId): Promise<ManscdpDocument> {
    const sn = this.nextSn();
    const key = `${deviceId}|${cmdType}|${sn}`;
    const answered = new Promise<ManscdpDocument>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`${cmdType} query to ${deviceId}: no Response in ${QUERY_TIMEOUT_MS / 1000} s`));
      }, QUERY_TIMEOUT_MS);
      const end = () => {
        clearTimeout(timer);
        this.waiting.delete(key);
      };
      this.waiting.set(key, {
        answer: (doc) => {
          end();
          resolve(doc);
        },
        cancel: end,
      });
    });
    try {
      const res = await this.message(deviceId, writeManscdp('Query', cmdType, sn, target, children, this.charsetOf(deviceId)), target);
      if (res.status >= 300) throw new Error(`${cmdType} query to ${deviceId}: ${res.status} ${res.reason}`);
    } catch (err) {
      this.waiting.get(key)?.cancel();
      throw err;
    }
    return answered;
  }

  /** Asks for the catalog and gathers every part of the answer (SumNum items, or what came in ten seconds). */
  async queryCatalog(deviceId: string): Promise<CatalogItem[]> {
    const sn = this.nextSn();
    const gathered = this.catalogs.expect(deviceId, sn, QUERY_TIMEOUT_MS);
    const res = await this.message(deviceId, writeManscdp('Query', 'Catalog', sn, deviceId, [], this.charsetOf(deviceId)));
    if (res.status >= 300) throw new Error(`Catalog query to ${deviceId}: ${res.status} ${res.reason}`);
    const { items, complete } = await gathered;
    if (!complete) this.deps.log.warn({ device: deviceId, items: items.length }, 'gb28181: catalog incomplete after 10 s; kept what came');
    this.setCatalog(deviceId, items);
    return items;
  }

  private record(id: string): DeviceRecord {
    let r = this.records.get(id);
    if (!r) {
      r = { catalog: [], answers: {} };
      this.records.set(id, r);
    }
    return r;
  }

  private setCatalog(deviceId: string, items: CatalogItem[]): void {
    const rec = this.record(deviceId);
    rec.catalog = items;
    rec.catalogAt = Date.now();
    this.emit('catalog', deviceId, items);
  }

  /** After a first registration: catalog, device info, then alarms (SUBSCRIBE, SetGuard) as configured. */
  private async afterRegister(reg: Registration): Promise<void> {
    const { log, counters } = this.deps;
    const cfg = this.settings.devices.find((d) => d.id === reg.id);
    const attempt = async (what: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        counters.inc('gb28181_query_failures_total', { query: what });
        log.warn({ device: reg.id, err: (err as Error).message }, `gb28181: ${what} failed`);
      }
    };
    await attempt('catalog', () => this.queryCatalog(reg.id));
    await attempt('device info', async () => {
      this.record(reg.id).answers.info = fields(await this.query(reg.id, 'DeviceInfo'));
    });
    await attempt('device status', async () => {
      this.record(reg.id).answers.status = fields(await this.query(reg.id, 'DeviceStatus'));
    });
    if (cfg?.subscribeAlarms ?? true) await attempt('alarm subscription', () => this.subscribeAlarms(reg.id));
    if (cfg?.guard) await attempt('SetGuard', () => this.control(reg.id, [['GuardCmd', 'SetGuard']]));
  }

  /** §9.11.1: SUBSCRIBE to a device's alarms of every priority and method, for an hour (then again). */
  async subscribeAlarms(deviceId: string): Promise<void> {
    const { req, peer } = this.newRequest('SUBSCRIBE', deviceId);
    req.add('event', `presence;id=${randomInt(1, 1_000_000)}`);
    req.add('expires', 3600);
    req.add('contact', this.endpoint.contact(this.settings.sipId, peer));
    req.add('content-type', MANSCDP_CONTENT_TYPE);
    const children: XmlChild[] = [
      ['StartAlarmPriority', 1],
      ['EndAlarmPriority', 4],
      ['AlarmMethod', 0],
    ];
    req.body = writeManscdp('Query', 'Alarm', this.nextSn(), deviceId, children, this.charsetOf(deviceId));
    const res = await this.endpoint.request(req, peer);
    // Plenty of cameras do not take alarm subscriptions and report alarms by MESSAGE anyway.
    if (res.status >= 300) this.deps.log.debug({ device: deviceId, status: res.status }, 'gb28181: alarm SUBSCRIBE declined');
  }

  /** A DeviceControl (§9.3): SetGuard, ResetAlarm, TeleBoot …; the device's 200 is the answer. */
  async control(deviceId: string, children: XmlChild[], target = deviceId): Promise<void> {
    const body = writeManscdp('Control', 'DeviceControl', this.nextSn(), target, children, this.charsetOf(deviceId));
    const res = await this.message(deviceId, body, target);
    if (res.status >= 300) throw new Error(`DeviceControl to ${target}: ${res.status} ${res.reason}`);
  }

  private dispatch(inc: IncomingRequest): void {
    const { req, peer } = inc;
    const { counters } = this.deps;
    if (req.method !== 'CANCEL' && !this.guard.take(peer.address, floodClass(req.method))) {
      counters.inc('gb28181_sip_refused_total', { reason: 'flood' });
      this.logFlood(peer, req.method);
      return;
    }
    counters.inc('gb28181_sip_requests_total', { method: /^[A-Z]{3,9}$/.test(req.method) ? req.method : 'other' });
    for (const h of this.handlers) if (h(inc)) return;
    switch (req.method) {
      case 'REGISTER':
        return this.registrar.handle(inc);
      case 'MESSAGE':
      case 'NOTIFY':
        return this.fromDevice(inc);
      case 'OPTIONS':
        inc.reply(200, { headers: [['allow', ALLOW]] });
        return;
      case 'CANCEL':
        return;
      case 'INVITE':
      case 'SUBSCRIBE':
      case 'BYE':
      case 'INFO':
        inc.reply(req.method === 'BYE' ? 481 : 403);
        return;
      default:
        inc.reply(405, { headers: [['allow', ALLOW]] });
    }
  }

  /** The device a request comes from: registered, at the address it registered from; else undefined. */
  senderOf(req: SipRequest, peer: SipPeer): Registration | undefined {
    const from = parseNameAddr(req.get('from') ?? '');
    const id = from ? parseUri(from.uri)?.user : undefined;
    const reg = id ? this.registrar.get(id) : undefined;
    return reg && reg.peer.address === peer.address ? reg : undefined;
  }

  private fromDevice(inc: IncomingRequest): void {
    const { req, peer } = inc;
    const { counters, log } = this.deps;
    const reg = this.senderOf(req, peer);
    if (!reg) {
      // §9.6: a keepalive from a device we do not know registered: refused, so it registers again.
      counters.inc('gb28181_sip_refused_total', { reason: 'not_registered' });
      inc.reply(403);
      return;
    }
    let doc: ManscdpDocument;
    try {
      doc = parseManscdp(req.body);
    } catch (err) {
      const reason = err instanceof ManscdpError ? err.reason : 'not_xml';
      counters.inc('gb28181_manscdp_refused_total', { reason });
      log.warn({ device: reg.id, reason, err: (err as Error).message }, 'gb28181: unreadable MANSCDP body refused');
      inc.reply(400);
      return;
    }
    // A device speaks for itself and its channels: a body about another device is refused.
    if (doc.deviceId && doc.deviceId !== reg.id && !this.record(reg.id).catalog.some((c) => c.id === doc.deviceId)) {
      if (!(doc.root === 'Response' && doc.cmdType === 'Catalog')) {
        counters.inc('gb28181_sip_refused_total', { reason: 'other_device' });
        log.warn({ device: reg.id, about: doc.deviceId, cmdType: doc.cmdType }, 'gb28181: a device spoke for another; refused');
        inc.reply(403);
        return;
      }
    }
    const now = Date.now();
    this.emit('seen', reg.id, now);
    inc.reply(200);
    counters.inc('gb28181_manscdp_total', { root: doc.root, cmdType: /^[A-Za-z]{1,32}$/.test(doc.cmdType) ? doc.cmdType : 'other' });
    this.handleDocument(reg, doc, now);
  }

  private handleDocument(reg: Registration, doc: ManscdpDocument, now: number): void {
    if (doc.root === 'Notify' && doc.cmdType === 'Keepalive') {
      this.record(reg.id).lastKeepaliveAt = now;
      return;
    }
    if (doc.root === 'Notify' && doc.cmdType === 'Alarm') {
      const alarm = parseAlarm(doc, this.settings.timezone, now);
      void this.message(reg.id, alarmResponse(doc.sn, doc.deviceId || reg.id, this.charsetOf(reg.id))).catch(() => undefined);
      this.emit('alarm', alarm, reg.id);
      return;
    }
    if (doc.root === 'Notify' && doc.cmdType === 'Catalog') {
      this.catalogChanges(reg.id, catalogPart(doc).items);
      return;
    }
    if (doc.root === 'Response') {
      if (doc.cmdType === 'Catalog' && this.catalogs.add(reg.id, doc)) return;
      this.waiting.get(`${reg.id}|${doc.cmdType}|${doc.sn}`)?.answer(doc);
    }
  }

  /** §9.11.2: a Catalog notification changes items (ADD, UPDATE, ON, OFF, VLOST, DEFECT) or removes them (DEL). */
  private catalogChanges(deviceId: string, changes: CatalogItem[]): void {
    const rec = this.record(deviceId);
    const byId = new Map(rec.catalog.map((c) => [c.id, c]));
    for (const c of changes) {
      if (c.event === 'DEL') byId.delete(c.id);
      else if (c.event === 'OFF' || c.event === 'VLOST' || c.event === 'DEFECT')
        byId.set(c.id, { ...(byId.get(c.id) ?? c), online: false, status: c.event });
      else if (c.event === 'ON') byId.set(c.id, { ...(byId.get(c.id) ?? c), online: true, status: 'ON' });
      else byId.set(c.id, c);
    }
    this.setCatalog(deviceId, [...byId.values()]);
  }

  private logFlood(peer: SipPeer, method: string): void {
    const now = Date.now();
    if (now - (this.floodLogged.get(peer.address) ?? 0) < 60_000) return;
    this.floodLogged.set(peer.address, now);
    if (this.floodLogged.size > 10_000) this.floodLogged.clear();
    this.deps.log.warn({ from: peer.address, method }, 'gb28181: too many requests from one address; dropping them');
  }
}

/** The text fields of a DeviceInfo or DeviceStatus Response, for the API. */
function fields(doc: ManscdpDocument): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.body)) {
    if (k === 'CmdType' || k === 'SN' || k.startsWith('@')) continue;
    const t = text0(v);
    if (t !== undefined) out[k] = t;
  }
  return out;
}
