/**
 * Receives one live stream: RTP over UDP, or over TCP (RFC 4571) with the device connecting to
 * us (tcp-passive) or us to it (tcp-active, RFC 4145). Only the device's packets count: over UDP
 * from its address, over TCP on the one connection it made or we made; the SSRC must be the one
 * the INVITE asked for (y=), or, for devices that pick their own, the first one it sends. The RTP
 * payloads, back in order, are the PS byte stream ffmpeg demuxes.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type { SdpTransport } from '../sdp.js';
import { codecInPsm, type VideoCodec } from './ps.js';
import { parseRtp, Reorder, Rfc4571Reader, RtpError, type RtpPacket } from './rtp.js';

/** Even ports from a range (RTP's convention, RTCP beside it on the odd one), each used by one stream at a time. */
export class PortPool {
  private readonly used = new Set<number>();
  private next: number;

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    this.next = min + (min % 2);
  }

  take(): number {
    const span = Math.floor((this.max - this.min) / 2) + 1;
    for (let i = 0; i < span; i++) {
      const p = this.next;
      this.next = this.next + 2 > this.max ? this.min + (this.min % 2) : this.next + 2;
      if (!this.used.has(p)) {
        this.used.add(p);
        return p;
      }
    }
    throw new Error(`no free RTP port between ${this.min} and ${this.max}`);
  }

  release(port: number): void {
    this.used.delete(port);
  }
}

export interface ReceiverStats {
  packets: number;
  bytes: number;
  lost: number;
  late: number;
  /** Packets refused: from another address, another SSRC, or not RTP. */
  refused: number;
  codec?: VideoCodec;
  ssrc?: number;
}

export interface ReceiverEvents {
  /** The stream ended: the device closed the TCP connection, or the receiver was closed. */
  end: [why: string];
  warn: [what: string];
  /** Each packet's PS payload in order, with its RTP timestamp and marker: what a relay sends on. */
  rtp: [payload: Buffer, timestamp: number, marker: boolean];
}

/** Drop rather than hold more than this for a decoder that is behind. */
const MAX_BUFFERED = 16 * 1024 * 1024;

export class MediaReceiver extends EventEmitter<ReceiverEvents> {
  /** The PS bytes, in order. */
  readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  readonly stats: ReceiverStats = { packets: 0, bytes: 0, lost: 0, late: 0, refused: 0 };
  private udp?: dgram.Socket;
  private server?: net.Server;
  private socket?: net.Socket;
  private readonly reorder = new Reorder();
  private closed = false;
  private lockedSsrc?: number;

  private constructor(
    readonly port: number,
    private readonly opts: { transport: SdpTransport; ssrc: number; from: string; pool: PortPool },
  ) {
    super();
  }

  /** Binds a port of the pool for the transport; `from` is the device's address, the only one heard. */
  static async open(opts: { host: string; transport: SdpTransport; ssrc: number; from: string; pool: PortPool }): Promise<MediaReceiver> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = opts.pool.take();
      const r = new MediaReceiver(port, opts);
      try {
        await r.bind(opts.host);
        return r;
      } catch (err) {
        opts.pool.release(port);
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    throw new Error('no RTP port could be bound (all in use by other programs?)');
  }

  private async bind(host: string): Promise<void> {
    if (this.opts.transport === 'udp') {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(this.port, host, () => resolve());
      });
      s.on('error', () => undefined);
      // Decoders fall behind in bursts; a deep receive buffer keeps a key frame's packets.
      s.setRecvBufferSize(4 * 1024 * 1024);
      s.on('message', (data, rinfo) => {
        if (rinfo.address !== this.opts.from) return this.refuse();
        this.packet(data, true);
      });
      this.udp = s;
      return;
    }
    if (this.opts.transport === 'tcp-passive') {
      const server = net.createServer((sock) => this.accept(sock));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, host, () => resolve());
      });
      server.on('error', () => undefined);
      this.server = server;
    }
  }

  /** tcp-active: connect to where the device's answer says it listens. */
  async connect(address: string, port: number): Promise<void> {
    const sock = net.connect({ host: address, port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    this.accept(sock);
  }

  private accept(sock: net.Socket): void {
    // One connection, from the device: anyone else is refused.
    if (this.socket || (sock.remoteAddress !== this.opts.from && sock.remoteAddress !== `::ffff:${this.opts.from}`)) {
      this.refuse();
      sock.destroy();
      return;
    }
    this.socket = sock;
    this.server?.close();
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    const reader = new Rfc4571Reader();
    sock.on('data', (chunk: Buffer) => {
      for (const p of reader.push(chunk)) this.packet(p, false);
    });
    sock.once('close', () => {
      if (!this.closed) this.end('the device closed the media connection');
    });
  }

  private refuse(): void {
    this.stats.refused++;
  }

  private packet(data: Buffer, reorder: boolean): void {
    if (this.closed) return;
    let p: RtpPacket;
    try {
      p = parseRtp(data);
    } catch (err) {
      if (err instanceof RtpError) return this.refuse();
      throw err;
    }
    if (!this.acceptSsrc(p.ssrc)) return this.refuse();
    const ready = reorder ? this.reorder.push(p) : [p];
    this.stats.lost = this.reorder.lost;
    this.stats.late = this.reorder.late;
    for (const r of ready) {
      this.payload(r.payload);
      this.emit('rtp', r.payload, r.timestamp, r.marker);
    }
  }

  private acceptSsrc(ssrc: number): boolean {
    if (this.lockedSsrc !== undefined) return ssrc === this.lockedSsrc;
    this.lockedSsrc = ssrc;
    this.stats.ssrc = ssrc;
    if (ssrc !== this.opts.ssrc) this.emit('warn', `the device sends SSRC ${ssrc}, not the ${this.opts.ssrc} it was asked for (y=); taken`);
    return true;
  }

  private payload(payload: Buffer): void {
    this.stats.packets++;
    this.stats.bytes += payload.length;
    if (!this.stats.codec) {
      const codec = codecInPsm(payload);
      if (codec) this.stats.codec = codec;
    }
    if (this.stream.readableLength > MAX_BUFFERED) return; // the decoder is far behind: drop, it resyncs on the next pack
    this.stream.write(payload);
  }

  private end(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.end();
    this.emit('end', why);
  }

  async close(): Promise<void> {
    this.end('closed');
    this.socket?.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.server?.listening ? this.server.close(() => r()) : r())),
    ]);
    this.opts.pool.release(this.port);
  }
}
