/**
 * The series stage as one service: readings go to InfluxDB when one is configured, to the local
 * spool otherwise; what the server refuses is spooled, and the spool is replayed to it in the
 * background. Stopping flushes what is buffered before the connections close.
 */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../services.js';
import { InfluxSink, routeInfluxClientLogs } from './influx.js';
import { SpoolRecovery } from './recovery.js';
import type { SeriesSink } from './sink.js';
import { SpoolSink } from './spool.js';

export class Series implements Service {
  readonly name = 'series';
  readonly spool: SpoolSink;
  /** Where readings are written: the InfluxDB writer, or the spool itself. */
  readonly sink: SeriesSink;
  private readonly recovery?: SpoolRecovery;

  constructor(config: Config, log: Logger, counters: Counters) {
    const dir = path.join(config.dataDir, 'spool');
    const spoolLog = log.child({ component: 'spool' });
    this.spool = new SpoolSink({ dir, onError: (err) => spoolLog.error({ err: err.message }, 'spool write failed') });
    if (!config.influx) {
      this.sink = this.spool;
      return;
    }
    const influxLog = log.child({ component: 'influx' });
    routeInfluxClientLogs(influxLog);
    const target = { url: config.influx.url, token: config.influx.token ?? '', org: config.influx.org, bucket: config.influx.bucket };
    this.sink = new InfluxSink({
      ...target,
      batchSize: config.influx.batchSize,
      flushIntervalMs: config.influx.flushIntervalMs,
      maxRetries: config.influx.maxRetries,
      fallback: (lines) => {
        influxLog.warn({ lines: lines.length }, 'series server refused lines; spooled to disk for replay');
        this.spool.writeLines(lines);
      },
      onError: (err) => influxLog.debug({ err: err.message }, 'series write failed'),
    });
    this.recovery = new SpoolRecovery({
      spool: this.spool,
      dir,
      target,
      log: influxLog,
      counters,
      intervalMs: config.influx.replayIntervalMs,
    });
  }

  start(): void {
    this.recovery?.start();
  }

  async stop(): Promise<void> {
    await this.recovery?.stop();
    await this.sink.close();
    if (this.sink !== this.spool) await this.spool.close();
  }

  /** Lines given up on, by the writer and by the spool behind it. */
  dropped(): number {
    return this.sink.stats().dropped + (this.sink === this.spool ? 0 : this.spool.stats().dropped);
  }
}
