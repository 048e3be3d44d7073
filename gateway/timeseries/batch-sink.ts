/**
 * A series sink for servers the InfluxDB 2 client cannot write to (InfluxDB 1.x `/write`): lines
 * are batched (`batchSize`, `flushIntervalMs`), each batch is posted once and retried after 1 s,
 * 2 s, 4 s… while the server is unreachable or busy; what it still will not take goes to the
 * fallback (the spool, replayed later), and what it refuses line by line to `refused`.
 */
import type { SeriesSink, SinkStats } from './sink.js';
import { isRefusal } from './target.js';

export interface BatchSinkOptions {
  name: string;
  send: (lines: string[]) => Promise<void>;
  batchSize: number;
  flushIntervalMs: number;
  maxRetries: number;
  /** Lines the server would not take after every retry. */
  fallback: (lines: string[]) => void;
  /** A batch the server refused (4xx): sorted out line by line by the caller; resolves to the lines then stored. */
  refused: (lines: string[]) => Promise<number>;
  onError?: (err: Error) => void;
  /** Lines held in memory at most while the server is away; beyond that they go to the fallback at once. */
  maxBufferLines?: number;
}

export class BatchSink implements SeriesSink {
  readonly name: string;
  private buffer: string[] = [];
  private written = 0;
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: BatchSinkOptions) {
    this.name = opts.name;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
    this.timer.unref();
  }

  writeLine(line: string): void {
    if (this.closed) return this.opts.fallback([line]);
    this.buffer.push(line);
    if (this.buffer.length + this.inFlight > (this.opts.maxBufferLines ?? 100_000)) {
      this.opts.fallback(this.buffer.splice(0));
      return;
    }
    if (this.buffer.length >= this.opts.batchSize) void this.flush();
  }

  /** Sends what is buffered, in batches, one after the other; resolves when each is settled. */
  flush(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, this.opts.batchSize);
      this.inFlight += batch.length;
      this.chain = this.chain.then(() => this.deliver(batch)).finally(() => (this.inFlight -= batch.length));
    }
    return this.chain;
  }

  private async deliver(batch: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.send(batch);
        this.written += batch.length;
        return;
      } catch (err) {
        this.opts.onError?.(err as Error);
        if (isRefusal(err)) {
          this.written += await this.opts.refused(batch);
          return;
        }
        if (attempt >= this.opts.maxRetries || this.closed) return this.opts.fallback(batch);
        await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt).unref());
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    await this.flush();
  }

  stats(): SinkStats {
    return { written: this.written, pending: this.buffer.length + this.inFlight, dropped: 0 };
  }
}
