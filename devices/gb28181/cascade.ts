/**
 * The gateway registered upward (级联, GB/T 28181-2016 §9.1 and §5.1.3: a lower platform towards
 * an upper one). To each upper platform of the config it is a device: the agent (agent.ts)
 * REGISTERs with the password the platform gave it, refreshes and keeps alive; the platform's
 * Catalog query is answered with the gateway's cameras (GB/T 28181 channels under their own ids,
 * other cameras under ids of the gateway's domain), DeviceInfo and DeviceStatus with the
 * gateway's; an INVITE for a channel gets its video (relay.ts) over UDP or TCP as the offer asks;
 * BYE, either way, ends it; camera incidents go up as Alarm notifications (§9.4). It shares the
 * gateway's SIP port: requests from the platform's address and id are the cascade's.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import { toLocal } from '../../core/time.js';
import { GbAgent } from './agent.js';
import type { GbAlarm } from './alarm.js';
import type { CatalogEntry, CatalogEvent } from './catalog.js';
import type { CascadeConfig, Gb28181Limits } from './config.js';
import type { XmlChild } from './manscdp.js';
import { RtpPsSender } from './media/sender.js';
import type { RelayHandle, UpstreamSource } from './relay.js';
import { PS_PAYLOAD, readSdp, SdpError, writeSdp } from './sdp.js';
import type { Gb28181Service } from './service.js';
import type { IncomingRequest } from './sip/endpoint.js';
import { parseNameAddr, SipRequest, type SipResponse } from './sip/message.js';
import type { SipPeer } from './sip/transport.js';

/** A channel offered upward: its catalog entry and where its video comes from (none: INVITE refused). */
export interface CascadeChannel extends CatalogEntry {
  source?: UpstreamSource;
}

export interface CascadeDeps {
  gb: Gb28181Service;
  channels: () => CascadeChannel[];
  /** DeviceInfo fields of the gateway (DeviceName, Manufacturer …). */
  deviceInfo: () => XmlChild[];
  limits: Gb28181Limits;
  /** Where relayed media is sent from. */
  bindHost: string;
  counters: Counters;
  log: Logger;
}

/** A platform's entry with its password resolved (config or environment). */
export type CascadeSettings = CascadeConfig & { password: string };

export interface CascadeStreamView {
  channel: string;
  callId: string;
  transport: string;
  to: string;
  startedAt: number;
  packets: number;
}

export interface CascadeView {
  sipId: string;
  host: string;
  port: number;
  transport: string;
  registered: boolean;
  registeredAt?: number;
  lastError?: string;
  keepalivesSent: number;
  alarmsSent: number;
  streams: CascadeStreamView[];
}

interface Relay {
  channel: string;
  callId: string;
  sender: RtpPsSender;
  handle?: RelayHandle;
  transport: string;
  to: string;
  startedAt: number;
  /** What the BYE we send needs: the dialog as the INVITE and our 200 made it (§12.1.1). */
  dialog: { peer: SipPeer; remoteTarget: string; localFrom: string; remoteTo: string; cseq: number };
  acked: boolean;
  ended: boolean;
}

const ACK_TIMEOUT_MS = 32_000;
const CHANGES_EVERY_MS = 2000;

/** One upper platform. */
export class CascadeLink {
  agent?: GbAgent;
  alarmsSent = 0;
  private readonly relays = new Map<string, Relay>();
  private address?: string;
  private stopped = false;
  private resolveTimer?: NodeJS.Timeout;
  private lastError?: string;
  private ackListening = false;
  /** The catalog as the platform last heard it: changes since go up as notifications. */
  private told?: Map<string, CatalogEntry>;
  private changesTimer?: NodeJS.Timeout;

  constructor(
    readonly settings: CascadeSettings,
    private readonly deps: CascadeDeps,
    private readonly streamCount: () => number,
  ) {}

  get domain(): string {
    return this.settings.domain ?? this.settings.sipId.slice(0, 10);
  }

  /** Starts registering; a name that does not resolve yet is tried again each minute. */
  async start(): Promise<void> {
    this.stopped = false;
    const { host } = this.settings;
    try {
      this.address = net.isIP(host) ? host : (await lookup(host, { family: 4 })).address;
    } catch (err) {
      this.lastError = `cannot resolve ${host}: ${(err as Error).message}`;
      this.deps.log.warn({ platform: this.settings.sipId, err: this.lastError }, 'gb28181 cascade: retrying in 60 s');
      this.resolveTimer = setTimeout(() => void this.start(), 60_000);
      return;
    }
    if (this.stopped) return;
    const { gb, log } = this.deps;
    const s = this.settings;
    const agent = new GbAgent(gb.endpoint, {
      id: gb.settings.sipId,
      password: s.password,
      server: { host: this.address, port: s.port, id: s.sipId, domain: this.domain, transport: s.transport === 'tcp' ? 'tcp' : 'udp' },
      expires: s.expires,
      keepaliveSeconds: s.keepaliveSeconds,
      ...(s.charset ? { charset: s.charset } : {}),
      timezone: gb.settings.timezone,
      persistent: true,
      catalog: () => {
        const channels = this.deps.channels();
        this.told = new Map(channels.map((c) => [c.id, c]));
        return channels;
      },
      deviceInfo: () => [...this.deps.deviceInfo(), ['Channel', this.deps.channels().length]],
      deviceStatus: () => [
        ['Online', 'ONLINE'],
        ['Status', 'OK'],
        // DeviceTime (§A.2.4): the site's local time, no zone, to the second.
        ['DeviceTime', toLocal(Date.now(), gb.settings.timezone).slice(0, 19)],
        ['Alarmstatus', [], { Num: 0 }],
      ],
    });
    agent.on('registered', (expires) => {
      this.deps.counters.inc('gb28181_cascade_registrations_total', { platform: s.sipId });
      log.info({ platform: s.sipId, expires }, 'gb28181 cascade: registered');
    });
    agent.on('refused', (status, why) => {
      this.deps.counters.inc('gb28181_cascade_refusals_total', { platform: s.sipId });
      log.warn({ platform: s.sipId, status, why }, 'gb28181 cascade: registration failed; trying again');
    });
    agent.on('request', (inc) => this.onRequest(inc));
    this.agent = agent;
    if (!this.ackListening) gb.endpoint.on('ack', (req) => this.onAck(req.callId));
    this.ackListening = true;
    await agent.start();
    clearInterval(this.changesTimer);
    this.changesTimer = setInterval(() => void this.tellChanges(), CHANGES_EVERY_MS);
  }

  /** Channels added, removed, gone on or off, or renamed since the platform's last catalog: a Notify (§9.11.2). */
  private async tellChanges(): Promise<void> {
    const told = this.told;
    if (!told || !this.agent?.registered) return;
    const now = new Map(this.deps.channels().map((c) => [c.id, c]));
    const changes: Array<CatalogEntry & { event: CatalogEvent }> = [];
    for (const [id, c] of now) {
      const before = told.get(id);
      if (!before) changes.push({ ...c, event: 'ADD' });
      else if (before.online !== c.online) changes.push({ ...c, event: c.online ? 'ON' : 'OFF' });
      else if (before.name !== c.name) changes.push({ ...c, event: 'UPDATE' });
    }
    for (const [id, c] of told) if (!now.has(id)) changes.push({ ...c, event: 'DEL' });
    if (!changes.length) return;
    try {
      // A few at a time keeps each notification inside one UDP datagram; the rest go in the next round.
      const batch = changes.slice(0, 8);
      const res = await this.agent.catalogChanged(batch);
      if (res.status >= 300) return;
      for (const c of batch) {
        if (c.event === 'DEL') told.delete(c.id);
        else told.set(c.id, c);
      }
    } catch (err) {
      this.deps.log.debug(
        { platform: this.settings.sipId, err: (err as Error).message },
        'gb28181 cascade: catalog notification not taken',
      );
    }
  }

  /** Requests from this platform (its address, its id) are the cascade's. */
  claims(inc: IncomingRequest): boolean {
    if (!this.agent?.fromServer(inc)) return false;
    this.agent.handle(inc);
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.resolveTimer);
    clearInterval(this.changesTimer);
    await Promise.all([...this.relays.keys()].map((id) => this.end(id, true)));
    await this.agent?.stop();
  }

  /** An alarm of one of the gateway's channels, sent up (when the platform takes alarms). */
  async alarm(a: GbAlarm): Promise<void> {
    if (!this.settings.forwardAlarms || !this.agent?.registered) return;
    const res = await this.agent.alarm(a);
    if (res.status < 300) this.alarmsSent++;
    else this.deps.log.warn({ platform: this.settings.sipId, status: res.status }, 'gb28181 cascade: alarm refused');
  }

  view(): CascadeView {
    const s = this.settings;
    const a = this.agent;
    const lastError = a?.lastError ?? this.lastError;
    return {
      sipId: s.sipId,
      host: s.host,
      port: s.port,
      transport: s.transport,
      registered: a?.registered ?? false,
      ...(a?.registeredAt ? { registeredAt: a.registeredAt } : {}),
      ...(lastError ? { lastError } : {}),
      keepalivesSent: a?.keepalivesSent ?? 0,
      alarmsSent: this.alarmsSent,
      streams: [...this.relays.values()].map((r) => ({
        channel: r.channel,
        callId: r.callId,
        transport: r.transport,
        to: r.to,
        startedAt: r.startedAt,
        packets: r.sender.packets,
      })),
    };
  }

  get streams(): number {
    return this.relays.size;
  }

  private onRequest(inc: IncomingRequest): void {
    const { req } = inc;
    switch (req.method) {
      case 'INVITE':
        void this.invite(inc);
        return;
      case 'BYE': {
        const known = this.relays.has(req.callId);
        inc.reply(known ? 200 : 481);
        if (known) void this.end(req.callId, false);
        return;
      }
      case 'CANCEL':
        void this.end(req.callId, false);
        return;
      case 'SUBSCRIBE':
        // Alarms go up whether subscribed or not (forwardAlarms); the subscription is taken.
        inc.reply(200, { headers: [['expires', req.get('expires') ?? 3600]] });
        return;
      case 'OPTIONS':
        inc.reply(200);
        return;
      default:
        inc.reply(405);
    }
  }

  /** §9.2.2 (实时视音频点播): the platform's offer read, the channel's video sent where it asks. */
  private async invite(inc: IncomingRequest): Promise<void> {
    const { req, peer } = inc;
    const { log, counters, gb } = this.deps;
    // The channel is the Request-URI's user (and the Subject's first id, §I.2).
    const channelId = /^sips?:(\d{20})@/.exec(req.uri)?.[1] ?? req.get('subject')?.split(':')[0] ?? '';
    const channel = this.deps.channels().find((c) => c.id === channelId);
    const refuse = (status: number, why: string) => {
      counters.inc('gb28181_cascade_invites_refused_total', { status: String(status) });
      log.warn({ platform: this.settings.sipId, channel: channelId, status, why }, 'gb28181 cascade: INVITE refused');
      inc.reply(status, { headers: [['warning', `399 gridedge "${why}"`]] });
    };
    if (!channel) return refuse(404, 'no such channel');
    if (!channel.source) return refuse(488, 'the channel has no video to send');
    if (this.streamCount() >= this.deps.limits.maxStreams) return refuse(486, 'too many streams (gb28181.limits.maxStreams)');
    let offer: ReturnType<typeof readSdp>;
    try {
      offer = readSdp(req.body.toString('utf8'));
    } catch (err) {
      return refuse(488, err instanceof SdpError ? err.message : 'unreadable SDP');
    }
    if (offer.session !== 'Play') return refuse(488, `s=${offer.session}: recordings are not kept here; live video (s=Play) only`);
    // Without y= the platform takes any SSRC; zero says none was asked for.
    const ssrc = offer.ssrc ?? '0000000000';
    const sender = new RtpPsSender(Number(ssrc));
    let localPort = 0;
    try {
      if (offer.transport === 'udp') await sender.toUdp(offer.address, offer.port, this.deps.bindHost);
      else if (offer.transport === 'tcp-passive') await sender.connectTcp(offer.address, offer.port);
      else localPort = await sender.listenTcp(this.deps.bindHost);
    } catch (err) {
      sender.close();
      return refuse(503, `cannot reach ${offer.address}:${offer.port}: ${(err as Error).message}`);
    }
    const answer = writeSdp({
      owner: channel.id,
      session: 'Play',
      address: gb.settings.publicHost,
      port: localPort || 15060,
      // The answer's setup is the opposite of the offer's (RFC 4145 §4.1).
      transport: offer.transport === 'tcp-passive' ? 'tcp-active' : offer.transport === 'tcp-active' ? 'tcp-passive' : 'udp',
      direction: 'sendonly',
      ssrc,
      payloads: [{ pt: PS_PAYLOAD, codec: 'PS' }],
    });
    const res: SipResponse = inc.reply(200, {
      headers: [['contact', gb.endpoint.contact(gb.settings.sipId, peer)]],
      body: Buffer.from(answer),
      contentType: 'APPLICATION/SDP',
    });
    const contact = parseNameAddr(req.get('contact') ?? '');
    const relay: Relay = {
      channel: channel.id,
      callId: req.callId,
      sender,
      transport: offer.transport,
      to: `${offer.address}:${offer.port}`,
      startedAt: Date.now(),
      dialog: {
        peer,
        remoteTarget: contact?.uri ?? `sip:${this.settings.sipId}@${peer.address}:${peer.port}`,
        localFrom: res.get('to')!,
        remoteTo: req.get('from')!,
        cseq: 1,
      },
      acked: false,
      ended: false,
    };
    this.relays.set(req.callId, relay);
    // No ACK: the platform did not take the answer (§13.3.1.4); the session is dropped.
    setTimeout(() => {
      if (!relay.acked && !relay.ended) void this.end(req.callId, true);
    }, ACK_TIMEOUT_MS).unref();
    log.info({ platform: this.settings.sipId, channel: channel.id, transport: offer.transport, to: relay.to }, 'gb28181 cascade: INVITEd');
  }

  private onAck(callId: string): void {
    const relay = this.relays.get(callId);
    if (!relay || relay.acked) return;
    relay.acked = true;
    const channel = this.deps.channels().find((c) => c.id === relay.channel);
    if (!channel?.source) return void this.end(callId, true);
    const { log, counters } = this.deps;
    channel.source
      .start(relay.sender, (why) => {
        log.warn({ platform: this.settings.sipId, channel: relay.channel, why }, 'gb28181 cascade: the source ended; BYE');
        void this.end(callId, true);
      })
      .then((handle) => {
        if (relay.ended) return void handle.stop();
        relay.handle = handle;
        counters.inc('gb28181_cascade_streams_total', { platform: this.settings.sipId });
        log.info({ platform: this.settings.sipId, channel: relay.channel, source: channel.source?.describe }, 'gb28181 cascade: streaming');
      })
      .catch((err: Error) => {
        counters.inc('gb28181_cascade_stream_failures_total', { platform: this.settings.sipId });
        log.warn({ platform: this.settings.sipId, channel: relay.channel, err: err.message }, 'gb28181 cascade: cannot relay; BYE');
        void this.end(callId, true);
      });
  }

  /** Ends a relay; `bye` when the gateway ends it (the platform is told), not when the platform did. */
  private async end(callId: string, bye: boolean): Promise<void> {
    const relay = this.relays.get(callId);
    if (!relay || relay.ended) return;
    relay.ended = true;
    this.relays.delete(callId);
    relay.sender.close();
    await relay.handle?.stop().catch(() => undefined);
    if (!bye || !relay.acked) return;
    const d = relay.dialog;
    const req = new SipRequest('BYE', d.remoteTarget);
    req.add('from', d.localFrom);
    req.add('to', d.remoteTo);
    req.add('call-id', callId);
    req.add('cseq', `${d.cseq} BYE`);
    await this.deps.gb.endpoint.request(req, d.peer, { timeoutMs: 4000 }).catch(() => undefined);
  }
}

/** Every upper platform of the config. */
export class Cascade {
  readonly links: CascadeLink[];

  constructor(settings: CascadeSettings[], deps: CascadeDeps) {
    const count = () => this.links.reduce((n, l) => n + l.streams, 0);
    this.links = settings.map((s) => new CascadeLink(s, deps, count));
    deps.gb.addHandler((inc) => this.links.some((l) => l.claims(inc)));
  }

  async start(): Promise<void> {
    await Promise.all(this.links.map((l) => l.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.links.map((l) => l.stop()));
  }

  async alarm(a: GbAlarm): Promise<void> {
    await Promise.all(this.links.map((l) => l.alarm(a).catch(() => undefined)));
  }

  view(): CascadeView[] {
    return this.links.map((l) => l.view());
  }
}
