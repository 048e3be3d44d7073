/**
 * SDP for live video (GB/T 28181-2016 §9.2, Annex F; RFC 4566, RFC 4145 for TCP): the offer a
 * platform sends in its INVITE and the answer a device returns. GB/T 28181 adds two lines of its
 * own: `y=` the SSRC as ten decimal digits (0 live / 1 playback, five digits of the domain, a
 * four-digit serial) and `f=` the media format. sdp-transform reads and writes the standard part
 * (it keeps no unknown lines, so y= and f= are handled here).
 */
import { parse, write } from 'sdp-transform';

export type SdpTransport = 'udp' | 'tcp-passive' | 'tcp-active';

export interface MediaOffer {
  /** Session owner: the SIP id of whoever writes it. */
  owner: string;
  /** `Play` for live video (Playback, Download for records). */
  session: 'Play' | 'Playback' | 'Download';
  address: string;
  port: number;
  transport: SdpTransport;
  /** recvonly for whoever receives (the platform), sendonly for the sender. */
  direction: 'recvonly' | 'sendonly';
  ssrc: string;
  /** Payload types offered: 96 PS is what GB/T 28181 devices send; 98 H264, 99 H265 (2022 edition: 100). */
  payloads?: Array<{ pt: number; codec: string }>;
}

export const PS_PAYLOAD = 96;
const DEFAULT_PAYLOADS = [
  { pt: PS_PAYLOAD, codec: 'PS' },
  { pt: 98, codec: 'H264' },
  { pt: 97, codec: 'MPEG4' },
  { pt: 99, codec: 'H265' },
];

/**
 * Annex F's SSRC: 0 (live) or 1 (history), digits 4–8 of the SIP domain, then a serial of four.
 * As a number it fits RTP's 32 bits (at most 1 999 999 999).
 */
export function gbSsrc(domain: string, serial: number, history = false): string {
  return `${history ? 1 : 0}${domain.slice(3, 8).padEnd(5, '0')}${String(serial % 10_000).padStart(4, '0')}`;
}

export function writeSdp(o: MediaOffer): string {
  const tcp = o.transport !== 'udp';
  const payloads = o.payloads ?? DEFAULT_PAYLOADS;
  const media = {
    type: 'video',
    port: o.port,
    protocol: tcp ? 'TCP/RTP/AVP' : 'RTP/AVP',
    payloads: payloads.map((p) => p.pt).join(' '),
    rtp: payloads.map((p) => ({ payload: p.pt, codec: p.codec, rate: 90000 })),
    fmtp: [],
    direction: o.direction,
    // RFC 4145: who connects. Passive listens, active connects; a new connection for each session.
    ...(tcp ? { setup: o.transport === 'tcp-passive' ? 'passive' : 'active', connectionType: 'new' } : {}),
  };
  const text = write({
    version: 0,
    origin: { username: o.owner, sessionId: 0, sessionVersion: 0, netType: 'IN', ipVer: 4, address: o.address },
    name: o.session,
    connection: { version: 4, ip: o.address },
    timing: { start: 0, stop: 0 },
    media: [media],
  } as Parameters<typeof write>[0]);
  return `${text}y=${o.ssrc}\r\nf=\r\n`;
}

export interface MediaDescription {
  owner: string;
  session: string;
  address: string;
  port: number;
  transport: SdpTransport;
  direction?: string;
  ssrc?: string;
  /** Payload type → codec name, as offered or answered. */
  codecs: Record<number, string>;
}

export class SdpError extends Error {}

/** Reads an offer or answer; throws SdpError when it has no video to speak of. */
export function readSdp(text: string): MediaDescription {
  const s = parse(text);
  const video = s.media.find((m) => m.type === 'video');
  if (!video) throw new SdpError('no video (m=video) in the SDP');
  const address = video.connection?.ip ?? s.connection?.ip ?? s.origin?.address;
  if (!address) throw new SdpError('no address (c=) in the SDP');
  if (!Number.isInteger(video.port) || video.port < 0 || video.port > 65535) throw new SdpError(`bad port ${video.port}`);
  const tcp = /TCP/i.test(video.protocol);
  // Our offer says who we are; the other side's setup is the opposite, and an answer with none is passive (RFC 4145 §4.1).
  const setup = (video as { setup?: string }).setup;
  const transport: SdpTransport = !tcp ? 'udp' : setup === 'active' ? 'tcp-active' : 'tcp-passive';
  const y = /^y=(\d{1,10})\s*$/m.exec(text);
  return {
    owner: s.origin?.username ?? '',
    session: s.name ?? '',
    address,
    port: video.port,
    transport,
    ...(video.direction ? { direction: video.direction } : {}),
    ...(y ? { ssrc: y[1] } : {}),
    codecs: Object.fromEntries((video.rtp ?? []).map((r) => [r.payload, r.codec.toUpperCase()])),
  };
}
