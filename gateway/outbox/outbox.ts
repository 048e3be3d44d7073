/**
 * The durable outbox between incidents and the uplink. Every incident message is appended to a
 * log on local disk and fsync'd before anything acknowledges it; it stays pending until the
 * upstream broker acknowledges it, across disconnects, restarts, `kill -9` and power loss.
 *
 * The log is JSON lines: `put` (a message with its seq and lane), `ack`, `drop`, and after a
 * compaction `meta` (the last seq) and `state` (the latest message of each incident not yet
 * closed, so the incident manager can carry on folding and applying commands after a restart). Appends are group-committed: all
 * puts made in one turn of the event loop share one write and one fdatasync.
 *
 * Bounds: at most `maxBytes` of pending messages and `maxAgeMs` of age. Beyond them the policy
 * is fixed and explicit: drop from the lowest-priority lane, oldest first; each drop is logged,
 * counted, and reported through `onDrop` (the uplink puts it in the gateway's status).
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { mkdirSync, readFileSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '../fsync.js';
import type { IncidentMessage } from '../incidents/schema.js';

export interface OutboxEntry {
  seq: number;
  /** On disk: only durable entries are handed to the uplink. */
  durable: boolean;
  lane: number;
  enqueuedAt: number;
  bytes: number;
  message: IncidentMessage;
}

export type DropReason = 'full' | 'expired';

export interface OutboxOptions {
  dir: string;
  lanes: (category: string) => number;
  maxBytes?: number;
  maxAgeMs?: number;
  /** Rewrite the log once it is this large and mostly acknowledged. */
  compactAtBytes?: number;
  now?: () => number;
  onDrop?: (entry: OutboxEntry, reason: DropReason) => void;
  onError?: (err: Error) => void;
}

export interface OutboxStats {
  pending: number;
  pendingBytes: number;
  oldestAgeMs: number;
  lastSeq: number;
  dropped: Record<DropReason, number>;
  corruptLines: number;
}

type LogRecord =
  | { t: 'put'; seq: number; lane: number; at: number; m: IncidentMessage }
  | { t: 'ack'; seq: number }
  | { t: 'drop'; seq: number; reason: DropReason }
  | { t: 'meta'; lastSeq: number }
  | { t: 'state'; m: IncidentMessage };

/** Resolved incidents kept for the platform's close; the oldest go beyond this. */
const MAX_LIVE = 20_000;

export class Outbox {
  private readonly pending = new Map<number, OutboxEntry>();
  /** Per lane, seqs in arrival order; entries no longer pending are skipped lazily. */
  private readonly queues: number[][] = [];
  /** Latest message of each incident not yet closed, by id. */
  private readonly live = new Map<string, IncidentMessage>();
  private lastSeq = 0;
  private pendingBytes = 0;
  private corruptLines = 0;
  private readonly dropped: Record<DropReason, number> = { full: 0, expired: 0 };
  private readonly file: string;
  private handle?: FileHandle;
  private logBytes = 0;
  private buffer: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private flushing?: Promise<void>;
  private flushScheduled = false;
  private closed = false;
  private readonly now: () => number;
  private readonly listeners: Array<(entry: OutboxEntry) => void> = [];

  /** Opens (creating or recovering) the outbox in `opts.dir`; reads the log synchronously, once, at start-up. */
  constructor(private readonly opts: OutboxOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.file = path.join(opts.dir, 'outbox.log');
    this.now = opts.now ?? Date.now;
    this.recover();
  }

  private recover(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let goodBytes = 0;
    const lines = text.split('\n');
    // The last element is '' after a complete final line; anything else there was torn by a crash.
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const complete = i < lines.length - 1;
      if (!complete) break;
      goodBytes += Buffer.byteLength(line) + 1;
      if (line.length === 0) continue;
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        this.corruptLines++;
        continue;
      }
      this.apply(record);
    }
    // Drop a torn tail so the next append starts on a line of its own.
    if (goodBytes < Buffer.byteLength(text)) truncateSync(this.file, goodBytes);
    this.logBytes = goodBytes;
  }

  private apply(r: LogRecord): void {
    switch (r.t) {
      case 'put':
        this.lastSeq = Math.max(this.lastSeq, r.seq);
        this.track(r.m);
        this.enqueue({ seq: r.seq, durable: true, lane: r.lane, enqueuedAt: r.at, bytes: Buffer.byteLength(JSON.stringify(r.m)), message: r.m });
        break;
      case 'ack':
      case 'drop':
        this.remove(r.seq);
        break;
      case 'meta':
        this.lastSeq = Math.max(this.lastSeq, r.lastSeq);
        break;
      case 'state':
        this.track(r.m);
        break;
    }
  }

  private track(m: IncidentMessage): void {
    const known = this.live.get(m.id);
    if (known && known.revision > m.revision) return;
    this.live.delete(m.id);
    if (m.status !== 'closed') this.live.set(m.id, m);
    if (this.live.size > MAX_LIVE) {
      for (const [id, old] of this.live) {
        if (old.status === 'resolved') {
          this.live.delete(id);
          break;
        }
      }
    }
  }

  private enqueue(entry: OutboxEntry): void {
    if (this.pending.has(entry.seq)) return;
    this.pending.set(entry.seq, entry);
    this.pendingBytes += entry.bytes;
    (this.queues[entry.lane] ??= []).push(entry.seq);
  }

  private remove(seq: number): OutboxEntry | undefined {
    const entry = this.pending.get(seq);
    if (!entry) return undefined;
    this.pending.delete(seq);
    this.pendingBytes -= entry.bytes;
    return entry;
  }

  /** The next sequence number; it becomes durable with the put that carries it. */
  nextSeq(): number {
    return ++this.lastSeq;
  }

  /** Called with each entry once it is durable: the uplink's cue to send. */
  onDurable(listener: (entry: OutboxEntry) => void): void {
    this.listeners.push(listener);
  }

  /** Appends a message (its seq from nextSeq()); resolves once it is on disk. */
  put(message: IncidentMessage, lane: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('outbox is closed'));
    const at = this.now();
    const line = JSON.stringify({ t: 'put', seq: message.seq, lane, at, m: message } satisfies LogRecord);
    const entry: OutboxEntry = { seq: message.seq, durable: false, lane, enqueuedAt: at, bytes: Buffer.byteLength(JSON.stringify(message)), message };
    this.track(message);
    this.enqueue(entry);
    this.enforceBytes();
    return this.append(line, true).then(
      () => {
        entry.durable = true;
        if (this.pending.has(entry.seq)) for (const l of this.listeners) l(entry);
      },
      (err: unknown) => {
        // Not on disk, so not ours to send: whoever waited (the device's PUBACK) was refused.
        this.remove(entry.seq);
        throw err;
      },
    );
  }

  /** The upstream broker has it. Not fsync'd on its own: losing an ack only means one resend. */
  ack(seq: number): void {
    if (this.remove(seq)) void this.append(JSON.stringify({ t: 'ack', seq } satisfies LogRecord), false);
  }

  /** Up to `limit` pending entries by lane, then seq, skipping those in `exclude`. */
  next(limit: number, exclude: ReadonlySet<number>): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const queue of this.queues) {
      if (!queue) continue;
      // Trim acknowledged heads so the scan stays short.
      while (queue.length && !this.pending.has(queue[0]!)) queue.shift();
      for (const seq of queue) {
        if (out.length >= limit) return out;
        const entry = this.pending.get(seq);
        if (entry && entry.durable && !exclude.has(seq)) out.push(entry);
      }
    }
    return out;
  }

  isPending(seq: number): boolean {
    return this.pending.has(seq);
  }

  /** Every incident not yet closed, as its latest message: the incident manager restores from these. */
  liveIncidents(): IncidentMessage[] {
    return [...this.live.values()];
  }

  /** Drops pending entries older than maxAgeMs (lowest lane first); returns how many. */
  expire(inflight: ReadonlySet<number> = new Set()): number {
    const maxAge = this.opts.maxAgeMs;
    if (!maxAge) return 0;
    const cutoff = this.now() - maxAge;
    let n = 0;
    for (const entry of [...this.pending.values()]) {
      if (entry.enqueuedAt < cutoff && !inflight.has(entry.seq)) {
        this.drop(entry, 'expired');
        n++;
      }
    }
    return n;
  }

  private enforceBytes(): void {
    const max = this.opts.maxBytes;
    if (!max) return;
    for (let lane = this.queues.length - 1; lane >= 0 && this.pendingBytes > max; lane--) {
      const queue = this.queues[lane];
      if (!queue) continue;
      for (const seq of [...queue]) {
        if (this.pendingBytes <= max) break;
        const entry = this.pending.get(seq);
        if (entry) this.drop(entry, 'full');
      }
    }
  }

  private drop(entry: OutboxEntry, reason: DropReason): void {
    this.remove(entry.seq);
    this.dropped[reason]++;
    void this.append(JSON.stringify({ t: 'drop', seq: entry.seq, reason } satisfies LogRecord), false);
    this.opts.onDrop?.(entry, reason);
  }

  private append(line: string, waitDurable: boolean): Promise<void> {
    this.buffer.push(line);
    const p = waitDurable
      ? new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
      : Promise.resolve();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
    return p;
  }

  /** Writes everything buffered with one write and one fdatasync, then wakes the waiters. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushScheduled = false;
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    const waiters = this.waiters;
    this.buffer = [];
    this.waiters = [];
    // Compaction runs inside the same critical section: no append may race the file swap.
    this.flushing = (async () => {
      try {
        const created = !this.handle && this.logBytes === 0;
        const handle = (this.handle ??= await open(this.file, 'a'));
        const text = `${lines.join('\n')}\n`;
        await handle.appendFile(text);
        await handle.datasync();
        if (created) await fsyncDir(this.opts.dir); // the new file's name must survive a power cut too
        this.logBytes += Buffer.byteLength(text);
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.opts.onError?.(err as Error);
        for (const w of waiters) w.reject(err as Error);
        return;
      }
      await this.maybeCompact().catch((err: unknown) => this.opts.onError?.(err as Error));
    })();
    await this.flushing;
    this.flushing = undefined;
  }

  /** When the log is large and mostly settled, rewrite it with only what still matters. */
  private async maybeCompact(): Promise<void> {
    const limit = this.opts.compactAtBytes ?? 16 * 1024 * 1024;
    if (this.logBytes < limit || this.pendingBytes * 2 > this.logBytes) return;
    const records: LogRecord[] = [{ t: 'meta', lastSeq: this.lastSeq }];
    const pendingIds = new Set<string>();
    for (const e of this.pending.values()) pendingIds.add(`${e.message.id}:${e.message.revision}`);
    for (const m of this.live.values()) if (!pendingIds.has(`${m.id}:${m.revision}`)) records.push({ t: 'state', m });
    // Entries not yet durable are still in the buffer and will be appended after the swap.
    for (const e of [...this.pending.values()].filter((x) => x.durable).sort((a, b) => a.seq - b.seq)) {
      records.push({ t: 'put', seq: e.seq, lane: e.lane, at: e.enqueuedAt, m: e.message });
    }
    await this.handle?.close();
    this.handle = undefined;
    await writeFileDurably(this.file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    this.handle = await open(this.file, 'a');
    this.logBytes = (await stat(this.file)).size;
  }

  stats(): OutboxStats {
    let oldest = Infinity;
    for (const e of this.pending.values()) oldest = Math.min(oldest, e.enqueuedAt);
    return {
      pending: this.pending.size,
      pendingBytes: this.pendingBytes,
      oldestAgeMs: oldest === Infinity ? 0 : this.now() - oldest,
      lastSeq: this.lastSeq,
      dropped: { ...this.dropped },
      corruptLines: this.corruptLines,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
  }
}
