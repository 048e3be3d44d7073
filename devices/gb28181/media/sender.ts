/**
 * Sends PS over RTP as GB/T 28181 §6.1 and Annex C have a device send it: payload type 96 at
 * 90 kHz, the SSRC the offer's y= asked for, a pack per frame cut into packets that fit a typical
 * MTU, the marker on a frame's last packet; over UDP, or over TCP with RFC 4571 framing,
 * connecting to the receiver (it offered setup:passive) or listening for it (it offered active).
 * The simulated cameras and the gateway's relay to an upper platform both send this way.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { PS_PAYLOAD } from '../sdp.js';
import { psFrame, type VideoCodec } from './ps.js';
import { buildRtp, frameRtp } from './rtp.js';

/** RTP payloads stay under a typical MTU with room for IP, UDP and RTP headers. */
const MAX_PAYLOAD = 1400;
const CONNECT_TIMEOUT_MS = 5000;

export class RtpPsSender {
  private udp?: dgram.Socket;
  private tcp?: net.Socket;
  private server?: net.Server;
  private seq = Math.floor(Math.random() * 60000);
  private out: (packet: Buffer) => void = () => undefined;
  packets = 0;
  bytes = 0;
  closed = false;

  constructor(readonly ssrc: number) {}

  /** UDP: to the offer's address and port, from a port of our own. */
  async toUdp(address: string, port: number, bindHost = '0.0.0.0'): Promise<void> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, bindHost, () => resolve());
    });
    s.on('error', () => undefined);
    this.udp = s;
    this.out = (pkt) => s.send(pkt, port, address);
  }

  /** TCP, the receiver listening (it offered setup:passive): we connect. */
  async connectTcp(address: string, port: number): Promise<void> {
    const s = net.connect({ host: address, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no TCP connection to ${address}:${port} in ${CONNECT_TIMEOUT_MS / 1000} s`));
      }, CONNECT_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    this.useTcp(s);
  }

  /** TCP, the receiver connecting (it offered setup:active): we listen on a port of our own. */
  async listenTcp(bindHost = '0.0.0.0'): Promise<number> {
    const server = net.createServer((s) => {
      server.close();
      this.useTcp(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, bindHost, () => resolve());
    });
    this.server = server;
    return (server.address() as net.AddressInfo).port;
  }

  private useTcp(s: net.Socket): void {
    s.setNoDelay(true);
    s.on('error', () => undefined);
    this.tcp = s;
    this.out = (pkt) => {
      if (s.writable) s.write(frameRtp(pkt));
    };
  }

  /** One access unit (Annex B) as one PS pack, in as many packets as it takes. */
  sendFrame(au: Buffer, key: boolean, codec: VideoCodec, timestamp: number): void {
    const ps = psFrame(au, timestamp, codec, key);
    for (let off = 0; off < ps.length; off += MAX_PAYLOAD)
      this.sendPayload(ps.subarray(off, off + MAX_PAYLOAD), timestamp, off + MAX_PAYLOAD >= ps.length);
  }

  /** One RTP packet of PS bytes already cut (a relayed stream keeps its packets as they came). */
  sendPayload(payload: Buffer, timestamp: number, marker: boolean): void {
    if (this.closed) return;
    this.out(buildRtp({ payloadType: PS_PAYLOAD, marker, seq: this.seq, timestamp: timestamp >>> 0, ssrc: this.ssrc, payload }));
    this.seq = (this.seq + 1) & 0xffff;
    this.packets++;
    this.bytes += payload.length;
  }

  close(): void {
    this.closed = true;
    this.udp?.close();
    this.tcp?.destroy();
    this.server?.close();
  }
}
