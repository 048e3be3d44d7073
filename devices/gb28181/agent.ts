/**
 * The device side of GB/T 28181 (§9.1, §9.5, §9.6): what a camera, an NVR or a lower platform
 * does towards the SIP server above it. It REGISTERs and answers the digest challenge, refreshes
 * at 80 % of the period granted, sends a Keepalive every period (three unanswered and it
 * registers again, §9.6.1), answers Catalog (in parts), DeviceInfo and DeviceStatus queries with
 * Response MESSAGEs in its charset, and sends alarms. The simulated devices (sim/gb28181) and
 * the gateway's cascade to upper platforms (cascade.ts) are both this agent; what they answer
 * and how they stream differ, so those come in as options and events.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { alarmNotify, type GbAlarm } from './alarm.js';
import { type CatalogEntry, type CatalogEvent, catalogNotify, catalogResponses } from './catalog.js';
import { type Charset, MANSCDP_CONTENT_TYPE, type ManscdpDocument, parseManscdp, writeManscdp, type XmlChild } from './manscdp.js';
import { type IncomingRequest, newTag, type SipEndpoint } from './sip/endpoint.js';
import { SipRequest, type SipResponse } from './sip/message.js';
import type { SipPeer } from './sip/transport.js';

export interface UpperServer {
  /** Its address: an IP the requests come from (a name is resolved by the caller). */
  host: string;
  port: number;
  id: string;
  domain: string;
  transport?: 'udp' | 'tcp';
}

export interface GbAgentOptions {
  id: string;
  password: string;
  server: UpperServer;
  keepaliveSeconds?: number;
  expires?: number;
  charset?: Charset;
  /** 2022: sends X-GB-Ver 3.0 on REGISTER. */
  version?: '2016' | '2022';
  /** The site's zone, for AlarmTime. */
  timezone?: string;
  /** Catalog items per Response MESSAGE (one UDP datagram each). */
  catalogPerMessage?: number;
  /** Its civil code (行政区划), for catalog items without one: by default the first six digits of its id. */
  civilCode?: string;
  /** Registers again after a refusal or a silence, backing off from 5 s to 60 s, instead of giving up. */
  persistent?: boolean;
  catalog: () => CatalogEntry[];
  deviceInfo: () => XmlChild[];
  deviceStatus: () => XmlChild[];
}

export interface GbAgentEvents {
  registered: [expires: number];
  /** A REGISTER failed: the status, or 0 when there was no answer. */
  refused: [status: number, why: string];
  /** Requests other than MESSAGE queries: INVITE, BYE, SUBSCRIBE, INFO … the owner answers them. */
  request: [incoming: IncomingRequest];
  control: [doc: ManscdpDocument];
}

const MISSED_KEEPALIVES = 3;

export class GbAgent extends EventEmitter<GbAgentEvents> {
  registered = false;
  /** Why the last REGISTER failed, if it did. */
  lastRefusal?: number;
  lastError?: string;
  registeredAt?: number;
  keepalivesSent = 0;
  private missed = 0;
  private cseq = randomInt(1, 1000);
  private sn = randomInt(1, 1000);
  private readonly callId = `${randomBytes(8).toString('hex')}@gb`;
  private readonly fromTag = newTag();
  private timers = new Set<NodeJS.Timeout>();
  private keepalivesPaused = false;
  private stopped = false;
  private backoff = 5000;
  private refresh?: NodeJS.Timeout;

  constructor(
    readonly endpoint: SipEndpoint,
    readonly opts: GbAgentOptions,
  ) {
    super();
  }

  get server(): SipPeer {
    return { transport: this.opts.server.transport ?? 'udp', address: this.opts.server.host, port: this.opts.server.port };
  }

  get charset(): Charset {
    return this.opts.charset ?? (this.opts.version === '2022' ? 'GB18030' : 'GB2312');
  }

  /** True when a request comes from the server: its address, its id in From. */
  fromServer(inc: IncomingRequest): boolean {
    if (inc.peer.address !== this.opts.server.host) return false;
    const from = /sip:([^@;>]+)@/.exec(inc.req.get('from') ?? '')?.[1];
    return from === this.opts.server.id;
  }

  /**
   * Registers, then keeps the registration and the keepalives going. Not persistent: rejects
   * with the status when refused. Persistent: resolves at once and keeps trying.
   */
  async start(): Promise<void> {
    this.stopped = false;
    if (!this.opts.persistent) {
      await this.register(this.opts.expires ?? 3600);
      this.keepalives();
      return;
    }
    this.keepalives();
    void this.registerOrRetry();
  }

  /** Unregisters (Expires 0) and stops its timers. */
  async stop(): Promise<void> {
    this.halt();
    if (this.registered) await this.register(0).catch(() => undefined);
  }

  /** Stops at once without unregistering, as a device losing power does. */
  halt(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.registered = false;
  }

  pauseKeepalives(): void {
    this.keepalivesPaused = true;
  }

  resumeKeepalives(): void {
    this.keepalivesPaused = false;
  }

  private later(ms: number, run: () => void): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private async registerOrRetry(): Promise<void> {
    try {
      await this.register(this.opts.expires ?? 3600);
      this.backoff = 5000;
    } catch {
      if (!this.opts.persistent) return;
      this.later(this.backoff, () => void this.registerOrRetry());
      this.backoff = Math.min(60_000, this.backoff * 2);
    }
  }

  private keepalives(): void {
    const period = (this.opts.keepaliveSeconds ?? 60) * 1000;
    const tick = async () => {
      this.later(period, () => void tick());
      if (this.keepalivesPaused || !this.registered) return;
      try {
        const res = await this.keepalive();
        this.missed = res.status < 300 ? 0 : this.missed + 1;
      } catch {
        this.missed++;
      }
      // §9.6.1: keepalives unanswered: the server has lost us; register again.
      if (this.missed >= MISSED_KEEPALIVES) {
        this.missed = 0;
        this.registered = false;
        void this.registerOrRetry();
      }
    };
    this.later(period, () => void tick());
  }

  private base(method: string, uri: string, to: string): SipRequest {
    const req = new SipRequest(method, uri);
    req.add('from', `<sip:${this.opts.id}@${this.opts.server.domain}>;tag=${this.fromTag}`);
    req.add('to', to);
    return req;
  }

  /** One REGISTER (with the challenge answered); Expires 0 unregisters. */
  async register(expires: number): Promise<SipResponse> {
    const s = this.opts.server;
    const uri = `sip:${s.id}@${s.domain}`;
    const build = (cseq: number) => {
      const req = this.base('REGISTER', uri, `<sip:${this.opts.id}@${s.domain}>`);
      req.add('call-id', this.callId);
      req.add('cseq', `${cseq} REGISTER`);
      req.add('contact', this.endpoint.contact(this.opts.id, this.server));
      req.add('expires', expires);
      if (this.opts.version === '2022') req.add('x-gb-ver', '3.0');
      return req;
    };
    let res: SipResponse;
    try {
      const answered = await this.endpoint.requestWithAuth(build, this.cseq++, this.server, {
        user: this.opts.id,
        password: this.opts.password,
      });
      this.cseq = answered.cseq + 1;
      res = answered.res;
    } catch (err) {
      this.fail(0, (err as Error).message);
      throw err;
    }
    if (res.status !== 200) {
      const why = `REGISTER refused: ${res.status} ${res.reason}`;
      this.fail(res.status, why);
      throw Object.assign(new Error(why), { status: res.status });
    }
    this.registered = expires > 0;
    if (!this.registered) return res;
    // The period granted is the 200's Expires (or its Contact's), which may be shorter than asked.
    const granted = Number(res.get('expires') ?? /expires=(\d+)/i.exec(res.get('contact') ?? '')?.[1] ?? expires) || expires;
    this.registeredAt = Date.now();
    this.lastError = undefined;
    this.lastRefusal = undefined;
    this.emit('registered', granted);
    // One refresh pending at a time, however often it was registered by hand.
    if (this.refresh) {
      clearTimeout(this.refresh);
      this.timers.delete(this.refresh);
    }
    this.refresh = this.later(granted * 800, () => void this.registerOrRetry());
    return res;
  }

  private fail(status: number, why: string): void {
    this.registered = false;
    this.lastRefusal = status;
    this.lastError = why;
    this.emit('refused', status, why);
  }

  /** A MESSAGE with a MANSCDP body to the server. */
  async send(body: Buffer): Promise<SipResponse> {
    const s = this.opts.server;
    const req = this.base('MESSAGE', `sip:${s.id}@${s.domain}`, `<sip:${s.id}@${s.domain}>`);
    req.add('call-id', `${randomBytes(8).toString('hex')}@gb`);
    req.add('cseq', `${this.cseq++} MESSAGE`);
    req.add('content-type', MANSCDP_CONTENT_TYPE);
    req.body = body;
    return this.endpoint.request(req, this.server);
  }

  async keepalive(): Promise<SipResponse> {
    this.keepalivesSent++;
    return this.send(writeManscdp('Notify', 'Keepalive', this.sn++, this.opts.id, [['Status', 'OK']], this.charset));
  }

  /** An alarm of the agent or one of its channels (a MESSAGE Notify Alarm, §9.4). */
  async alarm(alarm: GbAlarm): Promise<SipResponse> {
    return this.send(alarmNotify(this.sn++, alarm, this.opts.timezone ?? 'Asia/Shanghai', this.charset));
  }

  /** §9.11.2: a Catalog notification of items that changed since the server's last look. */
  async catalogChanged(changes: ReadonlyArray<CatalogEntry & { event: CatalogEvent }>): Promise<SipResponse> {
    const civil = this.opts.civilCode ?? this.opts.id.slice(0, 6);
    return this.send(catalogNotify(this.sn++, this.opts.id, changes, this.charset, civil));
  }

  /** A request from the server. */
  handle(inc: IncomingRequest): void {
    const { req } = inc;
    if (req.method !== 'MESSAGE') {
      if (this.listenerCount('request')) this.emit('request', inc);
      else inc.reply(req.method === 'CANCEL' ? 200 : 405);
      return;
    }
    let doc: ManscdpDocument;
    try {
      doc = parseManscdp(req.body);
    } catch {
      inc.reply(400);
      return;
    }
    inc.reply(200);
    if (doc.root === 'Query') void this.answer(doc.cmdType, doc.sn).catch(() => undefined);
    else if (doc.root === 'Control') {
      this.emit('control', doc);
      void this.send(writeManscdp('Response', 'DeviceControl', doc.sn, this.opts.id, [['Result', 'OK']], this.charset)).catch(
        () => undefined,
      );
    }
  }

  private async answer(cmdType: string, sn: number): Promise<void> {
    const o = this.opts;
    if (cmdType === 'Catalog') {
      const civil = o.civilCode ?? o.id.slice(0, 6);
      for (const body of catalogResponses(sn, o.id, o.catalog(), this.charset, civil, o.catalogPerMessage ?? 8)) await this.send(body);
      return;
    }
    if (cmdType === 'DeviceInfo') {
      await this.send(writeManscdp('Response', 'DeviceInfo', sn, o.id, [['Result', 'OK'], ...o.deviceInfo()], this.charset));
      return;
    }
    if (cmdType === 'DeviceStatus') {
      await this.send(writeManscdp('Response', 'DeviceStatus', sn, o.id, [['Result', 'OK'], ...o.deviceStatus()], this.charset));
      return;
    }
    // §9.5: a query it does not know gets a Response with Result ERROR rather than silence.
    if (/^[A-Za-z]{1,32}$/.test(cmdType)) await this.send(writeManscdp('Response', cmdType, sn, o.id, [['Result', 'ERROR']], this.charset));
  }
}
