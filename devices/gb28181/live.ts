/**
 * Live video from a channel (GB/T 28181-2016 §9.2.2, real-time media): the gateway INVITEs the
 * channel with an SDP offer (recvonly, its RTP port, the SSRC in y=), the device answers with
 * its own SDP, the gateway ACKs, and PS over RTP flows until either side sends BYE. The Subject
 * header names both ends (`sender:ssrc,receiver:0`). A BYE from the device
 * ends the stream; the camera stage sees the end, or a stall, and INVITEs again.
 */
import type { Counters } from '../../core/counters.js';
import type { FeedOpener } from '../camera/frames.js';
import type { Logger } from '../../core/log.js';
import type { MediaTransport } from './config.js';
import { MediaReceiver, type PortPool } from './media/receiver.js';
import { gbSsrc, readSdp, SdpError, writeSdp } from './sdp.js';
import type { Gb28181Service } from './service.js';
import type { IncomingRequest } from './sip/endpoint.js';
import { parseNameAddr, SipRequest } from './sip/message.js';
import type { SipPeer } from './sip/transport.js';

export interface LiveSession {
  channel: string;
  device: string;
  callId: string;
  receiver: MediaReceiver;
  transport: MediaTransport;
  startedAt: number;
  /** BYE (if the device has not already) and release the port; safe to call twice. */
  close(): Promise<void>;
}

export interface LiveOptions {
  pool: PortPool;
  /** Where RTP is received (the SIP listener's host). */
  bindHost: string;
  maxStreams: number;
  counters: Counters;
  log: Logger;
}

interface Dialog {
  session: LiveSession;
  invite: SipRequest;
  peer: SipPeer;
  remoteTarget: string;
  to: string;
  ended: boolean;
}

const INVITE_TIMEOUT_MS = 10_000;

export class LiveVideo {
  private readonly dialogs = new Map<string, Dialog>();
  private serial = 0;

  constructor(
    private readonly gb: Gb28181Service,
    private readonly opts: LiveOptions,
  ) {
    gb.addHandler((inc) => this.onRequest(inc));
  }

  sessions(): LiveSession[] {
    return [...this.dialogs.values()].map((d) => d.session);
  }

  /** The device that has a channel: one whose catalog holds it, or the device itself (an IPC). */
  ownerOf(channel: string): string | undefined {
    if (this.gb.registrar.get(channel)) return channel;
    return this.gb.devices().find((d) => d.registered && d.catalog.some((c) => c.id === channel))?.id;
  }

  /** INVITEs a channel and resolves once the device has answered and been ACKed. */
  async open(channel: string): Promise<LiveSession> {
    const device = this.ownerOf(channel);
    if (!device) throw new Error(`channel ${channel}: no registered device has it`);
    if (this.dialogs.size >= this.opts.maxStreams)
      throw new Error(`channel ${channel}: ${this.dialogs.size} streams already (gb28181.limits.maxStreams)`);
    const settings = this.gb.settings;
    const transport: MediaTransport = settings.devices.find((d) => d.id === device)?.media ?? settings.media.transport;
    const ssrc = gbSsrc(settings.domain, ++this.serial);
    const { req, peer } = this.gb.newRequest('INVITE', device, channel);
    const receiver = await MediaReceiver.open({
      host: this.opts.bindHost,
      transport,
      ssrc: Number(ssrc),
      from: peer.address,
      pool: this.opts.pool,
    });
    receiver.on('warn', (what) => this.opts.log.warn({ channel, what }, 'gb28181: media'));
    try {
      req.add('contact', this.gb.endpoint.contact(settings.sipId, peer));
      req.add('subject', `${channel}:${ssrc},${settings.sipId}:0`);
      req.add('content-type', 'APPLICATION/SDP');
      req.body = Buffer.from(
        writeSdp({
          owner: settings.sipId,
          session: 'Play',
          address: settings.publicHost,
          port: receiver.port,
          transport,
          direction: 'recvonly',
          ssrc,
        }),
      );
      const res = await this.gb.endpoint.request(req, peer, { timeoutMs: INVITE_TIMEOUT_MS });
      if (res.status >= 300) throw new Error(`channel ${channel}: INVITE refused, ${res.status} ${res.reason}`);
      const contact = parseNameAddr(res.get('contact') ?? '');
      const remoteTarget = contact?.uri ?? req.uri;
      this.gb.endpoint.ack(req, res, peer, remoteTarget);
      const answer = readSdp(res.body.toString('utf8'));
      if (transport === 'tcp-active') await receiver.connect(answer.address, answer.port);
      const callId = req.callId;
      const session: LiveSession = {
        channel,
        device,
        callId,
        receiver,
        transport,
        startedAt: Date.now(),
        close: () => this.close(callId),
      };
      const dialog: Dialog = { session, invite: req, peer, remoteTarget, to: res.get('to')!, ended: false };
      this.dialogs.set(callId, dialog);
      receiver.once('end', (why) => {
        if (why !== 'closed') void this.close(callId);
      });
      this.opts.counters.inc('gb28181_streams_total', { transport });
      this.opts.log.info({ channel, device, transport, ssrc, port: receiver.port }, 'gb28181: live video started');
      return session;
    } catch (err) {
      this.opts.counters.inc('gb28181_stream_failures_total');
      await receiver.close();
      throw err instanceof SdpError ? new Error(`channel ${channel}: the device's SDP answer: ${err.message}`) : err;
    }
  }

  /** A channel's video for the camera stage: INVITE on open, BYE on close; ffmpeg demuxes the PS. */
  feed(channel: string): FeedOpener {
    return async () => {
      const s = await this.open(channel);
      return { stream: s.receiver.stream, format: 'mpeg', close: () => s.close() };
    };
  }

  /** Ends a session: BYE in its dialog (§15.1.1) unless the device ended it, then the port. */
  private async close(callId: string): Promise<void> {
    const d = this.dialogs.get(callId);
    if (!d) return;
    this.dialogs.delete(callId);
    if (!d.ended && this.gb.registrar.get(d.session.device)) {
      const bye = new SipRequest('BYE', d.remoteTarget);
      bye.add('from', d.invite.get('from')!);
      bye.add('to', d.to);
      bye.add('call-id', callId);
      bye.add('cseq', `${d.invite.cseq.seq + 1} BYE`);
      await this.gb.endpoint.request(bye, d.peer, { timeoutMs: 4000 }).catch(() => undefined);
    }
    await d.session.receiver.close();
    this.opts.log.info({ channel: d.session.channel, ended: d.ended ? 'by the device' : 'by the gateway' }, 'gb28181: live video ended');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.dialogs.keys()].map((id) => this.close(id)));
  }

  /** A BYE from a device ends its session (§15.1.2). */
  private onRequest(inc: IncomingRequest): boolean {
    if (inc.req.method !== 'BYE') return false;
    const d = this.dialogs.get(inc.req.callId);
    if (!d) return false;
    d.ended = true;
    inc.reply(200);
    void this.close(inc.req.callId);
    return true;
  }
}
