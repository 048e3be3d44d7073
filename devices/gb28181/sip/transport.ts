/**
 * SIP over UDP and TCP on one port (RFC 3261 §18). UDP: one message a datagram; a response goes
 * back to the address the request came from (RFC 3581, what cameras behind NAT need). TCP: a
 * connection carries many messages, cut at Content-Length (§18.3); double-CRLF keep-alive pings
 * are answered with one CRLF (RFC 5626 §3.5.1). Every message that cannot be read is refused,
 * counted and reported with its source; nothing a peer sends can stop the listener.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { type AnySipMessage, headerEnd, parseMessage, SIP_LIMITS, SipParseError, type SipRefusal } from './message.js';

export type SipTransportName = 'udp' | 'tcp';

/** The other end of a message: its address, and for TCP the connection it came on. */
export interface SipPeer {
  transport: SipTransportName;
  address: string;
  port: number;
  connection?: net.Socket;
}

export interface SipTransportEvents {
  message: [msg: AnySipMessage, peer: SipPeer];
  refused: [reason: SipRefusal | 'flood', peer: SipPeer, detail: string];
}

export interface SipTransportOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  transports: readonly SipTransportName[];
  /** TCP connections at once; more are closed at once. */
  maxConnections?: number;
  /** A TCP connection that sends nothing for this long is closed. */
  idleTimeoutMs?: number;
}

/** Cuts a TCP byte stream into SIP messages; throws SipParseError on a stream that cannot be framed. */
export class SipStreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  /** The complete messages in what has arrived so far, and whether a keep-alive ping came. */
  push(chunk: Buffer): { messages: Buffer[]; ping: boolean } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const messages: Buffer[] = [];
    let ping = false;
    for (;;) {
      let start = 0;
      while (start < this.buf.length && (this.buf[start] === 0x0d || this.buf[start] === 0x0a)) start++;
      if (start > 0) {
        if (this.buf.subarray(0, start).includes('\r\n\r\n')) ping = true;
        this.buf = this.buf.subarray(start);
      }
      if (!this.buf.length) break;
      const end = headerEnd(this.buf);
      if (!end) {
        if (this.buf.length > SIP_LIMITS.maxHeaderBytes)
          throw new SipParseError('too_large', `no end of headers within ${SIP_LIMITS.maxHeaderBytes} bytes`);
        break;
      }
      const head = this.buf.toString('utf8', 0, end.at);
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\S*)/im.exec(head);
      if (!m) throw new SipParseError('content_length', 'no Content-Length on a stream transport (§18.3)');
      if (!/^\d{1,9}$/.test(m[1]!)) throw new SipParseError('content_length', `Content-Length "${m[1]}" is not a number`);
      const total = end.at + end.length + Number(m[1]);
      if (total > SIP_LIMITS.maxMessageBytes)
        throw new SipParseError('too_large', `message of ${total} bytes (at most ${SIP_LIMITS.maxMessageBytes})`);
      if (this.buf.length < total) break;
      messages.push(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
    return { messages, ping };
  }
}

export class SipTransport extends EventEmitter<SipTransportEvents> {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Outgoing TCP connections, by "address:port". */
  private readonly outgoing = new Map<string, Promise<net.Socket>>();
  port?: number;

  constructor(readonly opts: SipTransportOptions) {
    super();
  }

  get transports(): readonly SipTransportName[] {
    return this.opts.transports;
  }

  async start(): Promise<number> {
    let port = this.opts.port;
    if (this.opts.transports.includes('tcp')) {
      const server = net.createServer((s) => this.accept(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.opts.host, () => resolve());
      });
      server.on('error', () => undefined);
      this.tcp = server;
      port = (server.address() as net.AddressInfo).port;
    }
    if (this.opts.transports.includes('udp')) {
      const socket = dgram.createSocket({ type: net.isIPv6(this.opts.host) ? 'udp6' : 'udp4', reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, this.opts.host, () => resolve());
      });
      socket.on('error', () => undefined);
      socket.on('message', (data, rinfo) => this.datagram(data, { transport: 'udp', address: rinfo.address, port: rinfo.port }));
      this.udp = socket;
      port = socket.address().port;
    }
    this.port = port;
    return port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const p of this.outgoing.values())
      void p.then(
        (s) => s.destroy(),
        () => undefined,
      );
    this.outgoing.clear();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  /** Sends a message to a peer: over UDP, or on the peer's TCP connection (opened if there is none). */
  async send(msg: AnySipMessage, peer: SipPeer): Promise<void> {
    const bytes = msg.toBuffer();
    if (peer.transport === 'udp') {
      const udp = this.udp;
      if (!udp) throw new Error('SIP over UDP is not enabled');
      await new Promise<void>((resolve, reject) => udp.send(bytes, peer.port, peer.address, (err) => (err ? reject(err) : resolve())));
      return;
    }
    const socket = peer.connection && !peer.connection.destroyed ? peer.connection : await this.connect(peer.address, peer.port);
    await new Promise<void>((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** A TCP connection to a peer that listens (an upper platform): made once, and used both ways. */
  connect(address: string, port: number): Promise<net.Socket> {
    const key = `${address}:${port}`;
    const known = this.outgoing.get(key);
    if (known) return known;
    const made = new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: address, port });
      s.once('connect', () => {
        s.off('error', reject);
        this.accept(s, () => this.outgoing.delete(key));
        resolve(s);
      });
      s.once('error', (err) => {
        this.outgoing.delete(key);
        reject(err);
      });
    });
    this.outgoing.set(key, made);
    return made;
  }

  private accept(socket: net.Socket, onClose?: () => void): void {
    const max = this.opts.maxConnections ?? 2000;
    const peer: SipPeer = { transport: 'tcp', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connection: socket };
    if (this.sockets.size >= max) {
      this.emit('refused', 'flood', peer, `more than ${max} TCP connections`);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.opts.idleTimeoutMs ?? 300_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.sockets.delete(socket);
      onClose?.();
    });
    const framer = new SipStreamFramer();
    socket.on('data', (chunk: Buffer) => {
      let framed: { messages: Buffer[]; ping: boolean };
      try {
        framed = framer.push(chunk);
      } catch (err) {
        // A stream that cannot be framed cannot be resynchronised: refuse it and close it.
        const e = err as SipParseError;
        this.emit('refused', e.reason, peer, e.message);
        socket.destroy();
        return;
      }
      if (framed.ping) socket.write('\r\n');
      for (const m of framed.messages) this.deliver(m, peer, true);
    });
  }

  private datagram(data: Buffer, peer: SipPeer): void {
    // A lone CRLF (or two) is a keep-alive, not a message (RFC 5626 §4.4.1).
    if (data.length <= 4 && /^[\r\n]*$/.test(data.toString('latin1'))) return;
    this.deliver(data, peer, false);
  }

  private deliver(data: Buffer, peer: SipPeer, stream: boolean): void {
    let msg: AnySipMessage;
    try {
      msg = parseMessage(data, { stream });
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      this.emit('refused', err.reason, peer, err.message);
      return;
    }
    this.emit('message', msg, peer);
  }
}
