/**
 * A simulated GB/T 28181 camera or NVR, as the real ones behave towards their SIP server
 * (GB/T 28181-2016 §9): it REGISTERs and answers the digest challenge, refreshes before its
 * registration runs out, sends a Keepalive every period, answers Catalog (in parts, several
 * channels to a MESSAGE), DeviceInfo and DeviceStatus queries with Response MESSAGEs written in
 * GB2312 (or UTF-8, or GB18030), takes SUBSCRIBE and DeviceControl, raises alarms, and streams
 * video when INVITEd (media.ts). It uses the gateway's own SIP stack; the SIPp tests cover what a
 * stack we did not write makes of the gateway.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { alarmNotify, type GbAlarm } from '../../devices/gb28181/alarm.js';
import { type CatalogEntry, catalogResponses } from '../../devices/gb28181/catalog.js';
import { type Charset, MANSCDP_CONTENT_TYPE, parseManscdp, writeManscdp } from '../../devices/gb28181/manscdp.js';
import { type IncomingRequest, newTag, SipEndpoint } from '../../devices/gb28181/sip/endpoint.js';
import { SipRequest, type SipResponse } from '../../devices/gb28181/sip/message.js';
import { type SipPeer, SipTransport } from '../../devices/gb28181/sip/transport.js';

export interface SimChannel {
  id: string;
  name: string;
  /** The scene its video shows (a name of sim/camera/scenes.ts). */
  scene?: string;
  online?: boolean;
}

export interface SimGbDeviceOptions {
  id: string;
  password: string;
  server: { host: string; port: number; id: string; domain: string };
  transport?: 'udp' | 'tcp';
  channels: SimChannel[];
  keepaliveSeconds?: number;
  expires?: number;
  charset?: Charset;
  /** 2022: sends X-GB-Ver 3.0. */
  version?: '2016' | '2022';
  manufacturer?: string;
  model?: string;
  /** Channels per Catalog Response MESSAGE (real NVRs send a few at a time). */
  catalogPerMessage?: number;
  /** The site's zone for AlarmTime. */
  timezone?: string;
}

/** What happens to the INVITEs it gets: media.ts answers them. */
export type InviteHandler = (incoming: IncomingRequest, device: SimulatedGbDevice) => void;

export class SimulatedGbDevice {
  readonly transport: SipTransport;
  readonly endpoint: SipEndpoint;
  registered = false;
  /** Why the last REGISTER failed, if it did. */
  lastRefusal?: number;
  readonly received: SipRequest[] = [];
  keepalivesSent = 0;
  guard = false;
  private cseq = randomInt(1, 1000);
  private sn = randomInt(1, 1000);
  private readonly callId = `${randomBytes(8).toString('hex')}@sim`;
  private readonly fromTag = newTag();
  private timers: NodeJS.Timeout[] = [];
  private keepalivesPaused = false;
  invites?: InviteHandler;
  byes?: (incoming: IncomingRequest) => void;

  constructor(readonly opts: SimGbDeviceOptions) {
    this.transport = new SipTransport({ host: '127.0.0.1', port: 0, transports: [opts.transport ?? 'udp'] });
    this.endpoint = new SipEndpoint({ transport: this.transport, publicHost: '127.0.0.1', userAgent: opts.model ?? 'gridedge sim IPC' });
    this.endpoint.on('request', (inc) => this.onRequest(inc));
  }

  get server(): SipPeer {
    return { transport: this.opts.transport ?? 'udp', address: this.opts.server.host, port: this.opts.server.port };
  }

  get charset(): Charset {
    return this.opts.charset ?? (this.opts.version === '2022' ? 'GB18030' : 'GB2312');
  }

  /** Registers (answering the challenge); rejects with the status when refused. */
  async start(): Promise<void> {
    if (!this.transport.port) await this.transport.start();
    await this.register(this.opts.expires ?? 3600);
    this.schedule();
  }

  /** Unregisters (Expires 0) and goes away. */
  async stop(): Promise<void> {
    this.clearTimers();
    if (this.registered) await this.register(0).catch(() => undefined);
    await this.close();
  }

  /** Goes silent at once, as a camera losing power does: no unregister, no more keepalives. */
  async kill(): Promise<void> {
    this.clearTimers();
    this.registered = false;
    await this.close();
  }

  pauseKeepalives(): void {
    this.keepalivesPaused = true;
  }

  resumeKeepalives(): void {
    this.keepalivesPaused = false;
  }

  private async close(): Promise<void> {
    this.endpoint.close();
    await this.transport.stop();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private schedule(): void {
    const keepalive = (this.opts.keepaliveSeconds ?? 60) * 1000;
    const tick = () => {
      if (!this.keepalivesPaused) void this.keepalive().catch(() => undefined);
      this.timers.push(setTimeout(tick, keepalive));
    };
    this.timers.push(setTimeout(tick, keepalive));
    // Refreshes at 80 % of the period, as most cameras do.
    const refresh = () => {
      void this.register(this.opts.expires ?? 3600).catch(() => undefined);
      this.timers.push(setTimeout(refresh, (this.opts.expires ?? 3600) * 800));
    };
    this.timers.push(setTimeout(refresh, (this.opts.expires ?? 3600) * 800));
  }

  private base(method: string, uri: string, to: string): SipRequest {
    const req = new SipRequest(method, uri);
    req.add('from', `<sip:${this.opts.id}@${this.opts.server.domain}>;tag=${this.fromTag}`);
    req.add('to', to);
    return req;
  }

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
    const { res, cseq } = await this.endpoint.requestWithAuth(build, this.cseq++, this.server, {
      user: this.opts.id,
      password: this.opts.password,
    });
    this.cseq = cseq + 1;
    if (res.status !== 200) {
      this.lastRefusal = res.status;
      this.registered = false;
      throw Object.assign(new Error(`REGISTER refused: ${res.status} ${res.reason}`), { status: res.status });
    }
    this.registered = expires > 0;
    return res;
  }

  /** A MESSAGE with a MANSCDP body to the server. */
  async send(body: Buffer): Promise<SipResponse> {
    const s = this.opts.server;
    const req = this.base('MESSAGE', `sip:${s.id}@${s.domain}`, `<sip:${s.id}@${s.domain}>`);
    req.add('call-id', `${randomBytes(8).toString('hex')}@sim`);
    req.add('cseq', `${this.cseq++} MESSAGE`);
    req.add('content-type', MANSCDP_CONTENT_TYPE);
    req.body = body;
    return this.endpoint.request(req, this.server);
  }

  async keepalive(): Promise<SipResponse> {
    this.keepalivesSent++;
    return this.send(writeManscdp('Notify', 'Keepalive', this.sn++, this.opts.id, [['Status', 'OK']], this.charset));
  }

  /** Raises an alarm on the device or one of its channels (a MESSAGE Notify Alarm). */
  async alarm(a: Partial<GbAlarm> & { method: number }): Promise<SipResponse> {
    const alarm: GbAlarm = { deviceId: this.opts.channels[0]?.id ?? this.opts.id, priority: 1, at: Date.now(), ...a };
    return this.send(alarmNotify(this.sn++, alarm, this.opts.timezone ?? 'Asia/Shanghai', this.charset));
  }

  private onRequest(inc: IncomingRequest): void {
    const { req } = inc;
    this.received.push(req);
    if (req.method === 'INVITE') {
      if (this.invites) this.invites(inc, this);
      else inc.reply(488);
      return;
    }
    if (req.method === 'BYE') {
      inc.reply(200);
      this.byes?.(inc);
      return;
    }
    if (req.method === 'SUBSCRIBE') {
      inc.reply(200, { headers: [['expires', req.get('expires') ?? 3600]] });
      return;
    }
    if (req.method !== 'MESSAGE') {
      inc.reply(req.method === 'CANCEL' ? 200 : 405);
      return;
    }
    let doc: ReturnType<typeof parseManscdp>;
    try {
      doc = parseManscdp(req.body);
    } catch {
      inc.reply(400);
      return;
    }
    inc.reply(200);
    if (doc.root === 'Query') void this.answer(doc.cmdType, doc.sn).catch(() => undefined);
    if (doc.root === 'Control') {
      if (doc.body.GuardCmd === 'SetGuard') this.guard = true;
      if (doc.body.GuardCmd === 'ResetGuard') this.guard = false;
      void this.send(writeManscdp('Response', 'DeviceControl', doc.sn, this.opts.id, [['Result', 'OK']], this.charset)).catch(
        () => undefined,
      );
    }
  }

  private async answer(cmdType: string, sn: number): Promise<void> {
    const o = this.opts;
    if (cmdType === 'Catalog') {
      const entries: CatalogEntry[] = o.channels.map((c) => ({
        id: c.id,
        name: c.name,
        online: c.online ?? true,
        manufacturer: o.manufacturer ?? 'Simulated',
        model: o.model ?? 'IPC',
        parentId: o.id,
      }));
      const civil = o.id.slice(0, 6);
      for (const body of catalogResponses(sn, o.id, entries, this.charset, civil, o.catalogPerMessage ?? 2)) await this.send(body);
      return;
    }
    if (cmdType === 'DeviceInfo') {
      await this.send(
        writeManscdp(
          'Response',
          'DeviceInfo',
          sn,
          o.id,
          [
            ['DeviceName', o.channels[0]?.name ?? o.id],
            ['Result', 'OK'],
            ['Manufacturer', o.manufacturer ?? 'Simulated'],
            ['Model', o.model ?? 'IPC'],
            ['Firmware', 'V5.6.0'],
            ['Channel', o.channels.length],
          ],
          this.charset,
        ),
      );
      return;
    }
    if (cmdType === 'DeviceStatus') {
      await this.send(
        writeManscdp(
          'Response',
          'DeviceStatus',
          sn,
          o.id,
          [
            ['Result', 'OK'],
            ['Online', 'ONLINE'],
            ['Status', 'OK'],
            ['Encode', 'ON'],
            ['Record', 'OFF'],
            ['DeviceTime', new Date().toISOString().slice(0, 19)],
            ['Alarmstatus', [], { Num: 0 }],
          ],
          this.charset,
        ),
      );
    }
  }
}
