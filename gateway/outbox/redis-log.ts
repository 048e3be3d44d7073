/**
 * The outbox's log shared by the two nodes of an HA pair: a Redis stream. Each record carries
 * the writing process's instance id; each node applies the records the other writes (a tail on
 * a blocking connection wakes it, `catchUp` reads), so either node can take over the uplink
 * with the same pending messages, seqs and incidents. Durable means Redis has it: run Redis
 * with `appendonly yes` and `appendfsync always` (checked at start).
 *
 * Compaction (by the leader, inside the pair's lock): a `reset` record, then what still
 * matters, then everything before the reset is trimmed; a node that reads the reset forgets its
 * state and rebuilds it from the records after.
 */
import type { Redis } from 'ioredis';
import type { LogRecord, OutboxLog, OutboxState } from './log.js';

export interface RedisLogOptions {
  /** Commands go on this connection, in order: the pair's lock uses the same one (see cluster.ts). */
  redis: Redis;
  /** The stream's key. */
  key: string;
  /** This process's instance id: its own records are in memory already. */
  instance: string;
  /** Compact once the stream holds this many records. */
  compactAtRecords?: number;
  onError?: (err: Error) => void;
}

const BATCH = 1000;

export class RedisLog implements OutboxLog {
  corruptRecords = 0;
  private lastId = '0-0';
  private state?: OutboxState;
  private reading: Promise<void> = Promise.resolve();
  private tailing = false;
  private tailer?: Redis;
  private tailDone?: Promise<void>;

  constructor(private readonly opts: RedisLogOptions) {}

  async load(state: OutboxState): Promise<LogRecord[]> {
    this.state = state;
    const records: LogRecord[] = [];
    await this.read((r) => records.push(r), true);
    this.tailing = true;
    this.tailer = this.opts.redis.duplicate();
    this.tailer.on('error', () => undefined); // the tail loop reports its own failures
    this.tailDone = this.tail();
    return records;
  }

  /** Reads the records after the last one read; others' records go to `take`, and with `all` our own too. */
  private async read(take: (r: LogRecord) => void, all: boolean): Promise<void> {
    const { redis, key, instance } = this.opts;
    for (;;) {
      const entries = await redis.xrange(key, this.lastId === '0-0' ? '-' : `(${this.lastId}`, '+', 'COUNT', BATCH);
      for (const [id, fields] of entries) {
        this.lastId = id;
        const writer = fields[fields.indexOf('n') + 1];
        const text = fields[fields.indexOf('r') + 1];
        if (!all && writer === instance) continue;
        try {
          take(JSON.parse(text ?? '') as LogRecord);
        } catch {
          this.corruptRecords++;
        }
      }
      if (entries.length < BATCH) return;
    }
  }

  /** Applies what the other node wrote since the last read. One read at a time. */
  catchUp(): Promise<void> {
    const next = this.reading.then(() => this.read((r) => this.state?.apply(r), false));
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** Wakes on new records (a blocking XREAD on its own connection) and catches up. */
  private async tail(): Promise<void> {
    while (this.tailing) {
      try {
        await this.tailer!.xread('BLOCK', 2000, 'STREAMS', this.opts.key, this.lastId);
        if (this.tailing) await this.catchUp();
      } catch (err) {
        if (!this.tailing) return;
        this.opts.onError?.(err as Error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  append(record: LogRecord, waitDurable: boolean): Promise<void> {
    const { redis, key, instance } = this.opts;
    // Sent at once, not batched: the lock's release must follow these on the same connection.
    const added = redis.xadd(key, '*', 'n', instance, 'r', JSON.stringify(record)).then(() => undefined);
    if (!waitDurable) added.catch((err: unknown) => this.opts.onError?.(err as Error));
    return added;
  }

  /**
   * When the stream is long, writes a reset and what still matters, then trims what came before.
   * Only inside the pair's lock: no other node may write between the reset and the trim.
   */
  async compact(): Promise<boolean> {
    const { redis, key, instance } = this.opts;
    const state = this.state;
    if (!state || (await redis.xlen(key)) < (this.opts.compactAtRecords ?? 50_000)) return false;
    const records = state.snapshot(true);
    const meta = records.find((r) => r.t === 'meta');
    const resetId = await redis.xadd(
      key,
      '*',
      'n',
      instance,
      'r',
      JSON.stringify({ t: 'reset', lastSeq: meta?.t === 'meta' ? meta.lastSeq : 0 } satisfies LogRecord),
    );
    const batch = redis.pipeline();
    for (const r of records) batch.xadd(key, '*', 'n', instance, 'r', JSON.stringify(r));
    batch.xtrim(key, 'MINID', resetId!);
    await batch.exec();
    return true;
  }

  async flush(): Promise<void> {
    // Every append is sent at once; waiting for a round trip lets those in flight land.
    await this.opts.redis.ping();
  }

  async close(): Promise<void> {
    this.tailing = false;
    this.tailer?.disconnect();
    await this.tailDone;
    await this.reading;
  }
}
