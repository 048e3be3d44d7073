/**
 * The durable outbox between incidents and the uplink. Every incident message is stored in a log
 * before anything acknowledges it; it stays pending until the upstream broker acknowledges it,
 * across disconnects, restarts, `kill -9` and power loss.
 *
 * The log holds records (log.ts): `put` (a message with its seq and lane), `ack`, `drop`, and
 * after a compaction `meta` (the last seq) and `state` (the latest message of each incident not
 * yet closed, so the incident manager can carry on folding and applying commands after a
 * restart). By default it is a file on local disk (file-log.ts); the nodes of an HA pair share
 * one in Redis (redis-log.ts), and each applies the records the other writes.
 *
 * Bounds: at most `maxBytes` of pending messages and `maxAgeMs` of age. Beyond them the policy
 * is fixed and explicit: drop from the lowest-priority lane, oldest first; each drop is logged,
 * counted, and reported through `onDrop` (the uplink puts it in the gateway's status).
 */
import type { IncidentMessage } from '../../contracts/incident.js';
import { FileLog } from './file-log.js';
import type { DropReason, LogRecord, OutboxLog, OutboxState } from './log.js';

export type { DropReason } from './log.js';

export interface OutboxEntry {
  seq: number;
  /** Stored: only durable entries are handed to the uplink. */
  durable: boolean;
  lane: number;
  enqueuedAt: number;
  bytes: number;
  message: IncidentMessage;
}

export interface OutboxOptions {
  /** The folder of the file log (when no `log` is given). */
  dir?: string;
  /** Another log than the file in `dir` (the HA pair's Redis stream). */
  log?: OutboxLog;
  lanes: (category: string) => number;
  maxBytes?: number;
  maxAgeMs?: number;
  /** Rewrite the file log once it is this large and mostly acknowledged. */
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
  private readonly dropped: Record<DropReason, number> = { full: 0, expired: 0 };
  private closed = false;
  private readonly now: () => number;
  private readonly listeners: Array<(entry: OutboxEntry) => void> = [];
  private readonly dropListeners: Array<(entry: OutboxEntry, reason: DropReason) => void> = [];
  private readonly observers: Array<(message: IncidentMessage) => void> = [];
  private readonly log: OutboxLog;
  private readonly loaded: Promise<void>;

  /** Opens the outbox; a file log is read synchronously, once, at start-up (see `ready`). */
  constructor(private readonly opts: OutboxOptions) {
    this.now = opts.now ?? Date.now;
    if (!opts.log && !opts.dir) throw new Error('an outbox needs a folder or a log');
    this.log =
      opts.log ??
      new FileLog(opts.dir!, {
        ...(opts.compactAtBytes ? { compactAtBytes: opts.compactAtBytes } : {}),
        ...(opts.onError ? { onError: opts.onError } : {}),
      });
    const state: OutboxState = {
      snapshot: (all) => this.snapshot(all),
      pendingBytes: () => this.pendingBytes,
      apply: (r) => this.apply(r),
    };
    const records = this.log.load(state);
    if (Array.isArray(records)) {
      for (const r of records) this.apply(r);
      this.loaded = Promise.resolve();
    } else {
      this.loaded = records.then((rs) => {
        for (const r of rs) this.apply(r);
      });
      this.loaded.catch(() => undefined); // reported by whoever awaits ready()
    }
  }

  /** Resolves once the records from before are in memory: at once for a file, after reading for a shared log. */
  ready(): Promise<void> {
    return this.loaded;
  }

  /** Called with the messages another node stored in a shared log (the incident manager keeps up with them). */
  onReplicated(observer: (message: IncidentMessage) => void): void {
    this.observers.push(observer);
  }

  /** One stored record into memory: at start-up, and for each record another node writes to a shared log. */
  private apply(r: LogRecord): void {
    switch (r.t) {
      case 'put': {
        this.lastSeq = Math.max(this.lastSeq, r.seq);
        this.track(r.m);
        const entry: OutboxEntry = {
          seq: r.seq,
          durable: true,
          lane: r.lane,
          enqueuedAt: r.at,
          bytes: Buffer.byteLength(JSON.stringify(r.m)),
          message: r.m,
        };
        if (this.enqueue(entry)) for (const l of this.listeners) l(entry);
        for (const o of this.observers) o(r.m);
        break;
      }
      case 'ack':
      case 'drop':
        this.remove(r.seq);
        break;
      case 'meta':
        this.lastSeq = Math.max(this.lastSeq, r.lastSeq);
        break;
      case 'state':
        this.track(r.m);
        for (const o of this.observers) o(r.m);
        break;
      case 'reset':
        this.pending.clear();
        this.queues.length = 0;
        this.live.clear();
        this.pendingBytes = 0;
        this.lastSeq = Math.max(this.lastSeq, r.lastSeq);
        break;
    }
  }

  /** What still matters, as records: the last seq, incidents not yet closed, pending entries in seq order. */
  private snapshot(all: boolean): LogRecord[] {
    const records: LogRecord[] = [{ t: 'meta', lastSeq: this.lastSeq }];
    const pendingIds = new Set<string>();
    for (const e of this.pending.values()) pendingIds.add(`${e.message.id}:${e.message.revision}`);
    for (const m of this.live.values()) if (!pendingIds.has(`${m.id}:${m.revision}`)) records.push({ t: 'state', m });
    for (const e of [...this.pending.values()].filter((x) => all || x.durable).sort((a, b) => a.seq - b.seq)) {
      records.push({ t: 'put', seq: e.seq, lane: e.lane, at: e.enqueuedAt, m: e.message });
    }
    return records;
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

  private enqueue(entry: OutboxEntry): boolean {
    if (this.pending.has(entry.seq)) return false;
    this.pending.set(entry.seq, entry);
    this.pendingBytes += entry.bytes;
    this.queues[entry.lane] ??= [];
    this.queues[entry.lane]!.push(entry.seq);
    return true;
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

  /** Called with each entry the outbox had to drop (full, or kept too long): the uplink tells the platform. */
  onDropped(listener: (entry: OutboxEntry, reason: DropReason) => void): void {
    this.dropListeners.push(listener);
  }

  /** Appends a message (its seq from nextSeq()); resolves once it is stored durably. */
  put(message: IncidentMessage, lane: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('outbox is closed'));
    const at = this.now();
    const entry: OutboxEntry = {
      seq: message.seq,
      durable: false,
      lane,
      enqueuedAt: at,
      bytes: Buffer.byteLength(JSON.stringify(message)),
      message,
    };
    this.track(message);
    this.enqueue(entry);
    this.enforceBytes();
    return this.log.append({ t: 'put', seq: message.seq, lane, at, m: message }, true).then(
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
    if (this.remove(seq)) void this.log.append({ t: 'ack', seq }, false).catch(() => undefined);
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
        if (entry?.durable && !exclude.has(seq)) out.push(entry);
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
    void this.log.append({ t: 'drop', seq: entry.seq, reason }, false).catch(() => undefined);
    this.opts.onDrop?.(entry, reason);
    for (const l of this.dropListeners) l(entry, reason);
  }

  /** Writes out whatever the log buffers. */
  flush(): Promise<void> {
    return this.log.flush();
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
      corruptLines: this.log.corruptRecords,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
  }
}
