/**
 * A durable, bounded, ordered delivery queue: one JSON file per job in a folder (written to a
 * temporary name, fsync'd and renamed, so a job is either whole on disk or absent after a
 * `kill -9` or a power cut), delivered one at a time in the order they were put, and removed
 * only once `deliver` resolved: at least once, across outages and restarts.
 *
 * Bounds are explicit: at most `maxBytes` of pending jobs (by their declared size) and
 * `maxAgeMs` of age; beyond them the oldest job is dropped, counted by reason and reported.
 * A failed delivery is retried after a backoff that doubles to `maxBackoffMs`; a job that can
 * never be delivered (its `deliver` throws `Undeliverable`) is dropped and reported, never
 * retried for ever in front of the others.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from './durable.js';

export type QueueDropReason = 'full' | 'expired' | 'undeliverable';

/** Thrown by `deliver` for a job that no retry can deliver (its bytes are gone, the sink refused it for good). */
export class Undeliverable extends Error {}

interface Job<T> {
  n: number;
  at: number;
  bytes: number;
  item: T;
}

export interface DeliveryQueueOptions<T> {
  dir: string;
  deliver: (item: T) => Promise<void>;
  maxBytes: number;
  maxAgeMs: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  onDelivered?: (item: T) => void;
  onDrop?: (item: T, reason: QueueDropReason, why?: string) => void;
  onError?: (item: T, err: Error, attempt: number) => void;
}

export interface DeliveryQueueStats {
  pending: number;
  pendingBytes: number;
  oldestAgeSeconds: number;
  delivered: number;
  dropped: Record<QueueDropReason, number>;
  corrupt?: number;
  /** The last delivery error, while the job it belongs to is still pending. */
  lastError?: string;
}

export class DeliveryQueue<T> {
  private readonly jobs: Job<T>[] = [];
  private next = 1;
  private pendingBytes = 0;
  private delivered = 0;
  private readonly dropped: Record<QueueDropReason, number> = { full: 0, expired: 0, undeliverable: 0 };
  private lastError?: string;
  /** Job files found unreadable at start-up (renamed `*.corrupt`). */
  corrupt = 0;
  private running = false;
  private stopped = true;
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  private readonly now: () => number;
  private idleWaiters: Array<() => void> = [];
  /** The job being delivered: not dropped under it (it is removed when `deliver` settles). */
  private current?: Job<T>;

  /** Opens the folder and reads back what was pending before (in order); files that cannot be read are set aside. */
  constructor(private readonly opts: DeliveryQueueOptions<T>) {
    this.now = opts.now ?? Date.now;
    mkdirSync(opts.dir, { recursive: true });
    for (const name of readdirSync(opts.dir).sort()) {
      const file = path.join(opts.dir, name);
      if (name.endsWith('.tmp')) {
        rmSync(file, { force: true }); // a write a crash cut short: never acknowledged to anyone
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const job = JSON.parse(readFileSync(file, 'utf8')) as Job<T>;
        if (!Number.isInteger(job.n) || typeof job.at !== 'number') throw new Error('not a job');
        this.jobs.push(job);
        this.pendingBytes += job.bytes;
        this.next = Math.max(this.next, job.n + 1);
      } catch {
        // Kept for inspection under another name, out of the queue's way, and counted.
        this.corrupt++;
        try {
          renameSync(file, `${file}.corrupt`);
        } catch {
          /* read-only folder: it stays, and is skipped again next time */
        }
      }
    }
    this.jobs.sort((a, b) => a.n - b.n);
  }

  private fileOf(job: Job<T>): string {
    return path.join(this.opts.dir, `${String(job.n).padStart(12, '0')}.json`);
  }

  /** Stores the job durably (resolves once it survives a crash) and starts delivering it when its turn comes. */
  async put(item: T, bytes: number): Promise<void> {
    const job: Job<T> = { n: this.next++, at: this.now(), bytes, item };
    await writeFileDurably(this.fileOf(job), JSON.stringify(job));
    this.jobs.push(job);
    this.pendingBytes += bytes;
    await this.enforceBounds();
    this.kick();
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Stops delivering; a delivery under way finishes (or fails) on its own, its job stays if it did not finish. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Tries again now (the sink came back, e.g. the uplink connected), without waiting out the backoff. */
  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt = 0;
    this.kick();
  }

  /** Resolves once nothing is pending (tests, a graceful drain). */
  idle(): Promise<void> {
    if (this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  items(): T[] {
    return this.jobs.map((j) => j.item);
  }

  /** Removes pending jobs the predicate picks (a purge of personal data); returns how many went. */
  async remove(pick: (item: T) => boolean): Promise<number> {
    const gone = this.jobs.filter((j) => j !== this.current && pick(j.item));
    for (const job of gone) await this.forget(job);
    return gone.length;
  }

  stats(): DeliveryQueueStats {
    const oldest = this.jobs[0];
    return {
      pending: this.jobs.length,
      pendingBytes: this.pendingBytes,
      oldestAgeSeconds: oldest ? Math.max(0, Math.round((this.now() - oldest.at) / 1000)) : 0,
      delivered: this.delivered,
      dropped: { ...this.dropped },
      ...(this.corrupt ? { corrupt: this.corrupt } : {}),
      ...(this.lastError && this.jobs.length ? { lastError: this.lastError } : {}),
    };
  }

  private kick(): void {
    if (this.stopped || this.running || this.timer) return;
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.enforceBounds();
      const job = this.jobs[0];
      if (!job) {
        for (const w of this.idleWaiters.splice(0)) w();
        return;
      }
      this.current = job;
      try {
        await this.opts.deliver(job.item);
        this.attempt = 0;
        this.lastError = undefined;
        this.delivered++;
        await this.forget(job);
        this.opts.onDelivered?.(job.item);
      } catch (err) {
        if (err instanceof Undeliverable) {
          await this.forget(job);
          this.dropped.undeliverable++;
          this.opts.onDrop?.(job.item, 'undeliverable', err.message);
          continue;
        }
        this.attempt++;
        this.lastError = (err as Error).message;
        this.opts.onError?.(job.item, err as Error, this.attempt);
        const min = this.opts.minBackoffMs ?? 1000;
        const wait = Math.min(this.opts.maxBackoffMs ?? 60_000, min * 2 ** Math.min(this.attempt - 1, 16));
        if (!this.stopped) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.kick();
          }, wait);
          this.timer.unref();
        }
        return;
      } finally {
        this.current = undefined;
      }
    }
  }

  /** Drops the oldest jobs beyond the byte and age bounds (never the one being delivered). */
  private async enforceBounds(): Promise<void> {
    const now = this.now();
    for (const job of [...this.jobs]) {
      if (job === this.current) continue;
      const reason: QueueDropReason | undefined =
        now - job.at > this.opts.maxAgeMs ? 'expired' : this.pendingBytes > this.opts.maxBytes ? 'full' : undefined;
      if (!reason) continue;
      await this.forget(job);
      this.dropped[reason]++;
      this.opts.onDrop?.(job.item, reason);
    }
  }

  private async forget(job: Job<T>): Promise<void> {
    const i = this.jobs.indexOf(job);
    if (i < 0) return;
    this.jobs.splice(i, 1);
    this.pendingBytes -= job.bytes;
    await rm(this.fileOf(job), { force: true });
  }
}
