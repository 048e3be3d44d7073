/**
 * MPEG-2 Program Stream (ISO/IEC 13818-1 §2.5) as GB/T 28181 cameras send it (Annex C): each
 * frame a pack (pack header, then PES packets of stream 0xE0); a key frame also carries the
 * system header and the program stream map, whose stream_type says H.264 (0x1B) or H.265 (0x24).
 * The gateway writes PS when it sends video upward (an ONVIF camera's stream, re-packetized) and
 * the simulator when it plays a camera; what arrives is demuxed by ffmpeg, except the map, read
 * here to know the codec. Input to the muxer is Annex B access units (`AnnexBSplitter`).
 */

export type VideoCodec = 'h264' | 'h265';
export const STREAM_TYPES: Readonly<Record<VideoCodec, number>> = { h264: 0x1b, h265: 0x24 };
const VIDEO_STREAM_ID = 0xe0;
/** A PES packet's length field is 16 bits: a larger frame is cut into several. */
const MAX_PES_PAYLOAD = 65_000;

/** CRC-32/MPEG-2 (Annex A of 13818-1): polynomial 0x04C11DB7, no reflection, no final XOR. */
function crc32mpeg(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte << 24;
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

/** A 33-bit 90 kHz time split for the bit layouts below: its top 3 bits and its low 30. */
function split33(t: number): { top: number; rest: number } {
  const v = t % 2 ** 33;
  return { top: Math.floor(v / 2 ** 30) & 7, rest: v % 2 ** 30 };
}

/** §2.5.3.3: pack header, SCR in 90 kHz, no stuffing. */
export function packHeader(scr: number, muxRate = 6106): Buffer {
  const { top, rest } = split33(scr);
  const b = Buffer.alloc(14);
  b.writeUInt32BE(0x000001ba, 0);
  b[4] = 0x44 | (top << 3) | ((rest >> 28) & 0x03);
  b[5] = (rest >> 20) & 0xff;
  b[6] = ((rest >> 12) & 0xf8) | 0x04 | ((rest >> 13) & 0x03);
  b[7] = (rest >> 5) & 0xff;
  b[8] = ((rest << 3) & 0xf8) | 0x04;
  b[9] = 0x01;
  b[10] = (muxRate >> 14) & 0xff;
  b[11] = (muxRate >> 6) & 0xff;
  b[12] = ((muxRate << 2) & 0xfc) | 0x03;
  b[13] = 0xf8;
  return b;
}

/** §2.5.3.5: system header for one video stream. */
export function systemHeader(rateBound = 6106): Buffer {
  const b = Buffer.alloc(15);
  b.writeUInt32BE(0x000001bb, 0);
  b.writeUInt16BE(9, 4);
  b[6] = 0x80 | ((rateBound >> 15) & 0x7f);
  b[7] = (rateBound >> 7) & 0xff;
  b[8] = ((rateBound << 1) & 0xfe) | 0x01;
  b[9] = 0x04; // audio bound 1, not fixed, not CSPS
  b[10] = 0xe1; // audio and video locked, marker, video bound 1
  b[11] = 0x7f;
  b[12] = VIDEO_STREAM_ID;
  b[13] = 0xe8; // '11', buffer bound scale 1 (× 1024), size bound 2048 …
  b[14] = 0x00;
  return b;
}

/** §2.5.4: program stream map naming the video stream's type. */
export function programStreamMap(codec: VideoCodec, version = 0): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32BE(0x000001bc, 0);
  b.writeUInt16BE(14, 4); // bytes after this field
  b[6] = 0xe0 | (version & 0x1f); // current, version
  b[7] = 0xff;
  b.writeUInt16BE(0, 8); // program_stream_info_length
  b.writeUInt16BE(4, 10); // elementary_stream_map_length
  b[12] = STREAM_TYPES[codec];
  b[13] = VIDEO_STREAM_ID;
  b.writeUInt16BE(0, 14);
  b.writeUInt32BE(crc32mpeg(b.subarray(0, 16)), 16);
  return b;
}

function pesHeader(payloadLength: number, pts?: number): Buffer {
  const optional = pts === undefined ? 0 : 5;
  const b = Buffer.alloc(9 + optional);
  b.writeUInt32BE(0x00000100 | VIDEO_STREAM_ID, 0);
  b.writeUInt16BE(3 + optional + payloadLength, 4);
  b[6] = 0x80 | (pts === undefined ? 0 : 0x04); // '10', data aligned at the start of a frame
  b[7] = pts === undefined ? 0x00 : 0x80; // PTS only
  b[8] = optional;
  if (pts !== undefined) {
    const { top, rest } = split33(pts);
    b[9] = 0x21 | (top << 1);
    b[10] = (rest >> 22) & 0xff;
    b[11] = ((rest >> 14) & 0xfe) | 0x01;
    b[12] = (rest >> 7) & 0xff;
    b[13] = ((rest << 1) & 0xfe) | 0x01;
  }
  return b;
}

/** One frame as a PS pack: the headers a key frame needs, then its PES packets (the first with the PTS). */
export function psFrame(au: Buffer, pts: number, codec: VideoCodec, key: boolean): Buffer {
  const parts: Buffer[] = [packHeader(pts)];
  if (key) parts.push(systemHeader(), programStreamMap(codec));
  for (let off = 0; off < au.length || off === 0; off += MAX_PES_PAYLOAD) {
    const piece = au.subarray(off, off + MAX_PES_PAYLOAD);
    parts.push(pesHeader(piece.length, off === 0 ? pts : undefined), piece);
    if (!au.length) break;
  }
  return Buffer.concat(parts);
}

/** The codec a program stream map names, when `buf` holds one (stream_type 0x1B, 0x24). */
export function codecInPsm(buf: Buffer): VideoCodec | undefined {
  const at = buf.indexOf(Buffer.from([0, 0, 1, 0xbc]));
  if (at < 0 || buf.length < at + 12) return undefined;
  const infoLength = buf.readUInt16BE(at + 8);
  const mapStart = at + 10 + infoLength;
  if (buf.length < mapStart + 2) return undefined;
  const mapLength = buf.readUInt16BE(mapStart);
  for (let p = mapStart + 2; p + 4 <= mapStart + 2 + mapLength && p + 4 <= buf.length; ) {
    const type = buf[p]!;
    const id = buf[p + 1]!;
    if (id >= 0xe0 && id <= 0xef) {
      if (type === 0x1b) return 'h264';
      if (type === 0x24) return 'h265';
    }
    p += 4 + buf.readUInt16BE(p + 2);
  }
  return undefined;
}

/** NAL unit types that start an access unit or mark a key frame (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4). */
function nalInfo(codec: VideoCodec, nal: Buffer): { vcl: boolean; firstSlice: boolean; startsAu: boolean; key: boolean } {
  if (codec === 'h264') {
    const t = nal[0]! & 0x1f;
    const vcl = t >= 1 && t <= 5;
    // first_mb_in_slice is ue(v); 0 is the single bit 1.
    return { vcl, firstSlice: vcl && (nal[1]! & 0x80) !== 0, startsAu: t === 9 || t === 7 || t === 8 || t === 6, key: t === 5 || t === 7 };
  }
  const t = (nal[0]! >> 1) & 0x3f;
  const vcl = t <= 31;
  return {
    vcl,
    firstSlice: vcl && (nal[2]! & 0x80) !== 0, // first_slice_segment_in_pic_flag
    startsAu: t === 35 || t === 32 || t === 33 || t === 34 || t === 39,
    key: (t >= 16 && t <= 21) || t === 32 || t === 33,
  };
}

/**
 * Cuts an Annex B byte stream (what `ffmpeg -c:v copy -f h264|hevc` writes) into access units,
 * each with its start codes, and says which are key frames. A unit is known complete when the
 * next one begins, so it is handed on one frame late; `flush` gives the last.
 */
export class AnnexBSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private au: Buffer[] = [];
  private auKey = false;
  private auHasVcl = false;

  constructor(private readonly codec: VideoCodec) {}

  push(chunk: Buffer): Array<{ au: Buffer; key: boolean }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ au: Buffer; key: boolean }> = [];
    // NAL units are complete between two start codes; the last one waits for the next.
    let start = findStart(this.buf, 0);
    if (start < 0) return out;
    for (;;) {
      const next = findStart(this.buf, start + 3);
      if (next < 0) break;
      this.nal(this.buf.subarray(start, next), out);
      start = next;
    }
    this.buf = this.buf.subarray(start);
    return out;
  }

  flush(): Array<{ au: Buffer; key: boolean }> {
    const out: Array<{ au: Buffer; key: boolean }> = [];
    if (this.buf.length) this.nal(this.buf, out);
    this.buf = Buffer.alloc(0);
    if (this.au.length && this.auHasVcl) out.push({ au: Buffer.concat(this.au), key: this.auKey });
    this.au = [];
    return out;
  }

  private nal(withStart: Buffer, out: Array<{ au: Buffer; key: boolean }>): void {
    const skip = withStart[2] === 1 ? 3 : 4;
    const nal = withStart.subarray(skip);
    if (nal.length < 3) return;
    const info = nalInfo(this.codec, nal);
    if (this.auHasVcl && (info.startsAu || (info.vcl && info.firstSlice))) {
      out.push({ au: Buffer.concat(this.au), key: this.auKey });
      this.au = [];
      this.auKey = false;
      this.auHasVcl = false;
    }
    this.au.push(withStart);
    if (info.key) this.auKey = true;
    if (info.vcl) this.auHasVcl = true;
  }
}

/** The offset of the next start code (00 00 01, or 00 00 00 01 counted from its first zero). */
function findStart(buf: Buffer, from: number): number {
  const at = buf.indexOf(Buffer.from([0, 0, 1]), from);
  if (at < 0) return -1;
  return at > from && buf[at - 1] === 0 ? at - 1 : at;
}
