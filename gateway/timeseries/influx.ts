/**
 * InfluxDB v2 write API through @influxdata/influxdb-client: it batches, gzips and retries with
 * backoff. Lines it finally gives up on go to the fallback (the spool) instead of being lost.
 */
import { InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from '../../core/log.js';
import type { SeriesSink, SinkStats } from './sink.js';
import { isRefusal } from './target.js';

export interface InfluxSinkOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  batchSize: number;
  flushIntervalMs: number;
  maxRetries?: number;
  /** Receives lines the server would not take after every retry. */
  fallback?: (lines: string[]) => void;
  /** A batch the server refused (4xx: a type conflict, a malformed line), sorted out line by line; resolves to the lines stored. */
  refused?: (lines: string[]) => Promise<number>;
  onError?: (err: Error) => void;
}

export class InfluxSink implements SeriesSink {
  readonly name = 'influx';
  private readonly api: WriteApi;
  private written = 0;
  private pending = 0;
  private dropped = 0;
  private closing = false;

  constructor(opts: InfluxSinkOptions) {
    const maxRetries = opts.maxRetries ?? 3;
    const giveUp = (lines: string[]) => {
      this.pending -= lines.length;
      if (opts.fallback) opts.fallback(lines);
      else this.dropped += lines.length;
    };
    this.api = new InfluxDB({ url: opts.url, token: opts.token, timeout: 10_000 }).getWriteApi(opts.org, opts.bucket, 'ms', {
      batchSize: opts.batchSize,
      flushInterval: opts.flushIntervalMs,
      maxRetries,
      maxRetryTime: 60_000,
      minRetryDelay: 1000,
      maxRetryDelay: 15_000,
      maxBufferLines: 100_000,
      gzipThreshold: 4096,
      writeSuccess: (lines) => {
        this.written += lines.length;
        this.pending -= lines.length;
      },
      writeFailed: (error, lines, attempt) => {
        opts.onError?.(error);
        // Mirror the client's own decision: it retries only errors without an HTTP status or with
        // 429/5xx, only while open, and at most maxRetries times. Whatever it will not retry
        // would be lost, so it goes to the fallback, and the resolved promise tells the client so.
        const status = (error as { statusCode?: number }).statusCode;
        const willRetry = !this.closing && attempt <= maxRetries && (status === undefined || status >= 429);
        if (willRetry) return undefined;
        if (opts.refused && isRefusal(error)) {
          this.pending -= lines.length;
          void opts.refused(lines).then((n) => (this.written += n));
        } else giveUp(lines);
        return Promise.resolve();
      },
      writeRetrySkipped: (entry) => giveUp(entry.lines),
    });
  }

  writeLine(line: string): void {
    this.pending++;
    this.api.writeRecord(line);
  }

  async flush(): Promise<void> {
    await this.api.flush(true).catch(() => undefined); // failures already went to writeFailed
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.api.close().catch(() => undefined);
  }

  stats(): SinkStats {
    return { written: this.written, pending: this.pending, dropped: this.dropped };
  }
}

/** The client logs to the console by default; send its words to ours instead (process-wide). */
export function routeInfluxClientLogs(log: Logger): void {
  setLogger({
    error: (message, err) => log.warn({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
    warn: (message, err) => log.debug({ err: (err as Error | undefined)?.message }, `influxdb-client: ${message}`),
  });
}
