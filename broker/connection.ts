/**
 * A device's connection as aedes sees it: reads pass the packet-size guard first; writes go
 * straight to the socket. aedes (mqtt-packet) corks the stream around the pieces of one packet,
 * so `_writev` hands the socket the whole packet in one write, and Nagle's algorithm is off: a
 * packet written in pieces would otherwise wait for the client's delayed ACK (~40 ms) before its
 * second piece left, and a device with one message in flight would wait that long for every PUBACK.
 */
import type net from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import { type PeerCertificate, TLSSocket } from 'node:tls';

export class DeviceConnection extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    private readonly source: Readable,
  ) {
    super({ allowHalfOpen: false });
    socket.setNoDelay(true);
    source.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) source.pause();
    });
    source.once('end', () => this.push(null));
    Object.assign(this, { remoteAddress: socket.remoteAddress });
    if (socket instanceof TLSSocket) this.peerCertificate = socket.getPeerCertificate();
  }

  /** The device's certificate, on the MQTTS listener when it asks for one. */
  readonly peerCertificate?: PeerCertificate;

  /** The names a client certificate stands for: its subject CN and its subjectAltName entries (DNS, URI, email, IP). */
  certificateNames(): string[] {
    const c = this.peerCertificate;
    if (!c || !Object.keys(c).length) return [];
    const cn = c.subject?.CN;
    const sans = (c.subjectaltname ?? '').split(',').map((s) => s.trim().replace(/^[A-Za-z ]+:/, ''));
    return [...(cn ? (Array.isArray(cn) ? cn : [cn]) : []), ...sans].filter(Boolean);
  }

  override _read(): void {
    this.source.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(chunk, done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.socket.write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
