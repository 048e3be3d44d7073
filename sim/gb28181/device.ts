/**
 * A simulated GB/T 28181 camera or NVR, as the real ones behave towards their SIP server
 * (GB/T 28181-2016 §9): the device side of the protocol (devices/gb28181/agent.ts: REGISTER
 * with the digest, refresh, Keepalive, Catalog in parts, DeviceInfo, DeviceStatus, alarms) with
 * simulated channels, in GB2312 (or UTF-8, or GB18030); it takes SUBSCRIBE and DeviceControl and
 * streams video when INVITEd (media.ts). It uses the gateway's own SIP stack; the SIPp tests
 * cover what a stack we did not write makes of the gateway.
 */
import { type GbAgentOptions, GbAgent } from '../../devices/gb28181/agent.js';
import type { GbAlarm } from '../../devices/gb28181/alarm.js';
import type { Charset } from '../../devices/gb28181/manscdp.js';
import { type IncomingRequest, SipEndpoint } from '../../devices/gb28181/sip/endpoint.js';
import type { SipRequest, SipResponse } from '../../devices/gb28181/sip/message.js';
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
  readonly agent: GbAgent;
  readonly received: SipRequest[] = [];
  guard = false;
  invites?: InviteHandler;
  byes?: (incoming: IncomingRequest) => void;

  constructor(readonly opts: SimGbDeviceOptions) {
    this.transport = new SipTransport({ host: '127.0.0.1', port: 0, transports: [opts.transport ?? 'udp'] });
    this.endpoint = new SipEndpoint({ transport: this.transport, publicHost: '127.0.0.1', userAgent: opts.model ?? 'gridedge sim IPC' });
    const agentOpts: GbAgentOptions = {
      id: opts.id,
      password: opts.password,
      server: { ...opts.server, transport: opts.transport ?? 'udp' },
      catalogPerMessage: opts.catalogPerMessage ?? 2,
      catalog: () =>
        opts.channels.map((c) => ({
          id: c.id,
          name: c.name,
          online: c.online ?? true,
          manufacturer: opts.manufacturer ?? 'Simulated',
          model: opts.model ?? 'IPC',
          parentId: opts.id,
        })),
      deviceInfo: () => [
        ['DeviceName', opts.channels[0]?.name ?? opts.id],
        ['Manufacturer', opts.manufacturer ?? 'Simulated'],
        ['Model', opts.model ?? 'IPC'],
        ['Firmware', 'V5.6.0'],
        ['Channel', opts.channels.length],
      ],
      deviceStatus: () => [
        ['Online', 'ONLINE'],
        ['Status', 'OK'],
        ['Encode', 'ON'],
        ['Record', 'OFF'],
        ['DeviceTime', new Date().toISOString().slice(0, 19)],
        ['Alarmstatus', [], { Num: 0 }],
      ],
    };
    for (const k of ['keepaliveSeconds', 'expires', 'charset', 'version', 'timezone'] as const)
      if (opts[k] !== undefined) Object.assign(agentOpts, { [k]: opts[k] });
    this.agent = new GbAgent(this.endpoint, agentOpts);
    this.agent.on('request', (inc) => this.onRequest(inc));
    this.agent.on('control', (doc) => {
      if (doc.body.GuardCmd === 'SetGuard') this.guard = true;
      if (doc.body.GuardCmd === 'ResetGuard') this.guard = false;
    });
    this.endpoint.on('request', (inc) => {
      this.received.push(inc.req);
      this.agent.handle(inc);
    });
  }

  get registered(): boolean {
    return this.agent.registered;
  }

  get lastRefusal(): number | undefined {
    return this.agent.lastRefusal;
  }

  /** Registers (answering the challenge); rejects with the status when refused. */
  async start(): Promise<void> {
    if (!this.transport.port) await this.transport.start();
    await this.agent.start();
  }

  /** Unregisters (Expires 0) and goes away. */
  async stop(): Promise<void> {
    await this.agent.stop();
    await this.close();
  }

  /** Goes silent at once, as a camera losing power does: no unregister, no more keepalives. */
  async kill(): Promise<void> {
    this.agent.halt();
    await this.close();
  }

  pauseKeepalives(): void {
    this.agent.pauseKeepalives();
  }

  resumeKeepalives(): void {
    this.agent.resumeKeepalives();
  }

  get server(): SipPeer {
    return this.agent.server;
  }

  keepalive(): Promise<SipResponse> {
    return this.agent.keepalive();
  }

  register(expires: number): Promise<SipResponse> {
    return this.agent.register(expires);
  }

  send(body: Buffer): Promise<SipResponse> {
    return this.agent.send(body);
  }

  /** Raises an alarm on the device or one of its channels (a MESSAGE Notify Alarm). */
  alarm(a: Partial<GbAlarm> & { method: number }): Promise<SipResponse> {
    return this.agent.alarm({ deviceId: this.opts.channels[0]?.id ?? this.opts.id, priority: 1, at: Date.now(), ...a });
  }

  private async close(): Promise<void> {
    this.endpoint.close();
    await this.transport.stop();
  }

  private onRequest(inc: IncomingRequest): void {
    const { req } = inc;
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
    inc.reply(req.method === 'CANCEL' ? 200 : 405);
  }
}
