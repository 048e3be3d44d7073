/**
 * Evidence pushed over the upstream MQTT broker (the `mqtt` evidence sink): the gateway sits
 * behind NAT, so it sends each image to the platform instead of waiting to be asked.
 *
 * Topic: `gridedge/v1/{grid}/{gatewayId}/evidence/{sha256}`, QoS 1, not retained.
 * Payload of each chunk: one line of JSON (the header below), a `\n`, then the chunk's bytes.
 * MQTT 3.1.1 has no user properties, so the header travels inside the payload; JSON never holds
 * a raw newline, so the first `\n` always ends it.
 *
 * A platform reassembles by sha256: chunks may arrive more than once (QoS 1 is at least once) and,
 * across a reconnect, out of order; when it holds `count` distinct chunks whose concatenation has
 * the sha256 named, the object is complete. `EvidenceReassembler` below is a reference
 * implementation (the tests and the simulated platform use it).
 */
import { createHash } from 'node:crypto';

export const EVIDENCE_CHUNK_SCHEMA_ID = 'gridedge.evidence-chunk/v1';

export interface EvidenceChunkHeader {
  schema: typeof EVIDENCE_CHUNK_SCHEMA_ID;
  sha256: string;
  /** 0-based index of this chunk, and how many there are. */
  index: number;
  count: number;
  /** Where this chunk's bytes start in the object, and the object's whole size. */
  offset: number;
  size: number;
  mime: string;
  class: string;
  /** The gateway and camera it came from. */
  gatewayId: string;
  camera?: string;
  /** When the gateway stored it (ISO 8601 UTC). */
  storedAt: string;
}

export function evidenceTopic(root: string, sha256: string): string {
  return `${root}/evidence/${sha256}`;
}

/** Splits one object into chunk payloads of at most `chunkBytes` of data each. */
export function chunkEvidence(
  bytes: Buffer,
  meta: Omit<EvidenceChunkHeader, 'schema' | 'index' | 'count' | 'offset' | 'size'>,
  chunkBytes: number,
): Buffer[] {
  const count = Math.max(1, Math.ceil(bytes.length / chunkBytes));
  const out: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const offset = index * chunkBytes;
    const header: EvidenceChunkHeader = {
      schema: EVIDENCE_CHUNK_SCHEMA_ID,
      ...meta,
      index,
      count,
      offset,
      size: bytes.length,
    };
    out.push(Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), bytes.subarray(offset, offset + chunkBytes)]));
  }
  return out;
}

export type ChunkResult =
  | { state: 'partial'; sha256: string; have: number; count: number }
  | { state: 'complete'; sha256: string; bytes: Buffer; header: EvidenceChunkHeader }
  | { state: 'duplicate'; sha256: string }
  | { state: 'refused'; reason: string };

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reassembles chunked evidence: one partial object per sha256, bounded in number and in size,
 * a completed object checked against its sha256 before it is handed out.
 */
export class EvidenceReassembler {
  private readonly partial = new Map<string, { header: EvidenceChunkHeader; parts: Map<number, Buffer>; touched: number }>();
  private readonly done = new Set<string>();

  constructor(private readonly limits: { maxObjectBytes: number; maxPartial: number } = { maxObjectBytes: 64 << 20, maxPartial: 256 }) {}

  add(payload: Buffer, now = Date.now()): ChunkResult {
    const nl = payload.indexOf(0x0a);
    if (nl < 0 || nl > 4096) return { state: 'refused', reason: 'no header line' };
    let header: EvidenceChunkHeader;
    try {
      header = JSON.parse(payload.subarray(0, nl).toString('utf8')) as EvidenceChunkHeader;
    } catch {
      return { state: 'refused', reason: 'header is not JSON' };
    }
    const { sha256, index, count, offset, size } = header;
    if (header.schema !== EVIDENCE_CHUNK_SCHEMA_ID) return { state: 'refused', reason: `unknown schema ${String(header.schema)}` };
    if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return { state: 'refused', reason: 'sha256 is not 64 hex digits' };
    if (![index, count, offset, size].every((n) => Number.isInteger(n) && n >= 0) || index >= count)
      return { state: 'refused', reason: 'index, count, offset or size out of range' };
    if (size > this.limits.maxObjectBytes) return { state: 'refused', reason: `object of ${size} bytes is over the limit` };
    const data = payload.subarray(nl + 1);
    if (offset + data.length > size) return { state: 'refused', reason: 'chunk runs past the object' };
    if (this.done.has(sha256)) return { state: 'duplicate', sha256 };
    let entry = this.partial.get(sha256);
    if (!entry) {
      if (this.partial.size >= this.limits.maxPartial) {
        // The least recently touched partial object goes: its sender will send it whole again.
        const oldest = [...this.partial.entries()].sort((a, b) => a[1].touched - b[1].touched)[0]!;
        this.partial.delete(oldest[0]);
      }
      entry = { header, parts: new Map(), touched: now };
      this.partial.set(sha256, entry);
    }
    entry.touched = now;
    if (entry.header.count !== count || entry.header.size !== size) return { state: 'refused', reason: 'chunk disagrees with the others' };
    if (entry.parts.has(index)) return { state: 'duplicate', sha256 };
    entry.parts.set(index, Buffer.from(data));
    if (entry.parts.size < count) return { state: 'partial', sha256, have: entry.parts.size, count };
    const bytes = Buffer.concat([...entry.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
    this.partial.delete(sha256);
    if (bytes.length !== size || createHash('sha256').update(bytes).digest('hex') !== sha256)
      return { state: 'refused', reason: 'reassembled bytes do not match their sha256' };
    this.done.add(sha256);
    if (this.done.size > 100_000) this.done.delete(this.done.values().next().value!);
    return { state: 'complete', sha256, bytes, header: entry.header };
  }
}
