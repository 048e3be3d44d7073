/**
 * RTP (RFC 3550 §5.1) as GB/T 28181 carries video: PS in payload type 96, 90 kHz timestamps,
 * the marker bit on the last packet of a frame. Over TCP each packet is preceded by its length in
 * two bytes (RFC 4571 §2, GB/T 28181-2016 Annex L). A small reordering buffer puts packets that
 * arrive out of order over UDP back in sequence, and gives up on one that does not come.
 */

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export class RtpError extends Error {}

/** Reads one RTP packet; throws RtpError on what is not one. */
export function parseRtp(buf: Buffer): RtpPacket {
  if (buf.length < 12) throw new RtpError(`${buf.length} bytes is shorter than an RTP header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) throw new RtpError(`RTP version ${b0 >> 6} (only 2)`);
  const csrcs = b0 & 0x0f;
  let offset = 12 + csrcs * 4;
  if (b0 & 0x10) {
    // §5.3.1: a header extension, its length in 32-bit words after 4 bytes of profile and length.
    if (buf.length < offset + 4) throw new RtpError('truncated RTP header extension');
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
  }
  let end = buf.length;
  if (b0 & 0x20) end -= buf[buf.length - 1]!; // §5.1: the last byte counts the padding
  if (offset > end) throw new RtpError('RTP header longer than the packet');
  const b1 = buf[1]!;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    seq: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

export function buildRtp(p: RtpPacket): Buffer {
  const head = Buffer.alloc(12);
  head[0] = 0x80;
  head[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  head.writeUInt16BE(p.seq & 0xffff, 2);
  head.writeUInt32BE(p.timestamp >>> 0, 4);
  head.writeUInt32BE(p.ssrc >>> 0, 8);
  return Buffer.concat([head, p.payload]);
}

/** RFC 4571: a packet with its two-byte length in front, for RTP over TCP. */
export function frameRtp(packet: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(packet.length);
  return Buffer.concat([len, packet]);
}

/** Cuts an RFC 4571 byte stream back into packets. */
export class Rfc4571Reader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      out.push(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
    }
    return out;
  }
}

/** Sequence numbers wrap at 2^16: the signed distance from a to b. */
export function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/**
 * Puts packets back in order. Up to `window` packets wait for a missing one; past that, the gap is
 * counted as lost and skipped. A packet older than what has been released is dropped (a duplicate
 * or too late).
 */
export class Reorder {
  private next?: number;
  private readonly held = new Map<number, RtpPacket>();
  lost = 0;
  late = 0;

  constructor(private readonly window = 32) {}

  push(p: RtpPacket): RtpPacket[] {
    if (this.next === undefined) this.next = p.seq;
    const d = seqDelta(this.next, p.seq);
    if (d < 0) {
      this.late++;
      return [];
    }
    // A jump far ahead is a restarted sender (a new stream): start again from it.
    if (d > 1000) {
      this.held.clear();
      this.next = p.seq;
    }
    this.held.set(p.seq, p);
    const out: RtpPacket[] = [];
    for (;;) {
      const ready = this.held.get(this.next!);
      if (ready) {
        this.held.delete(this.next!);
        out.push(ready);
        this.next = (this.next! + 1) & 0xffff;
        continue;
      }
      if (this.held.size < this.window) break;
      // The window is full: the missing packet is lost; go on from the oldest held one.
      let oldest: number = this.next!;
      let best = Number.POSITIVE_INFINITY;
      for (const s of this.held.keys()) {
        const dist = seqDelta(this.next!, s);
        if (dist < best) {
          best = dist;
          oldest = s;
        }
      }
      this.lost += best;
      this.next = oldest;
    }
    return out;
  }
}
