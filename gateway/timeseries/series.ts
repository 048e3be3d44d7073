/**
 * The series stage as one service: readings go to the configured server (InfluxDB 2 through its
 * client, InfluxDB 1.x through our batcher), to the local spool when none is configured. What the
 * server cannot take now is spooled and replayed in the background; what it refuses outright is
 * sorted out line by line (split.ts), the refused lines quarantined and the rest stored, so one
 * poisoned reading never blocks the others. Stopping flushes what is buffered.
 */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../services.js';
import { BatchSink } from './batch-sink.js';
import { InfluxSink, routeInfluxClientLogs } from './influx.js';
import { Quarantine } from './quarantine.js';
import { SpoolRecovery } from './recovery.js';
import type { SeriesSink } from './sink.js';
import { leftOver, sendSplitting } from './split.js';
import { SpoolSink } from './spool.js';
import { postLines, seriesTarget } from './target.js';

export class Series implements Service {
  readonly name = 'series';
  readonly spool: SpoolSink;
  /** Where readings are written: the server's writer, or the spool itself. */
  readonly sink: SeriesSink;
  readonly quarantine: Quarantine;
  private readonly recovery?: SpoolRecovery;
  private sorting: Promise<void> = Promise.resolve();

  constructor(config: Config, log: Logger, counters: Counters) {
    const dir = path.join(config.dataDir, 'spool');
    const spoolLog = log.child({ component: 'spool' });
    this.spool = new SpoolSink({ dir, onError: (err) => spoolLog.error({ err: err.message }, 'spool write failed') });
    const influxLog = log.child({ component: 'influx' });
    this.quarantine = new Quarantine(path.join(dir, 'quarantine'), counters, influxLog);
    const influx = config.influx;
    if (!influx) {
      this.sink = this.spool;
      return;
    }
    const target = seriesTarget(influx);
    const fallback = (lines: string[]) => {
      influxLog.warn({ lines: lines.length }, 'the series server cannot take lines now; spooled to disk for replay');
      this.spool.writeLines(lines);
    };
    // A refused batch, line by line: the refused ones quarantined, the rest stored (or spooled if the server goes away meanwhile).
    const refused = (lines: string[]): Promise<number> => {
      const sorted = this.sorting
        .then(() => sendSplitting((part) => postLines(target, part), lines))
        .then(
          async (r) => {
            await this.quarantine.add(r);
            return lines.length - r.length;
          },
          async (err: unknown) => {
            const { unsent, refused: found } = leftOver(err, lines);
            fallback(unsent);
            await this.quarantine.add(found);
            return lines.length - unsent.length - found.length;
          },
        );
      this.sorting = sorted.then(() => undefined);
      return sorted;
    };
    const common = {
      batchSize: influx.batchSize,
      flushIntervalMs: influx.flushIntervalMs,
      maxRetries: influx.maxRetries,
      fallback,
      onError: (err: Error) => influxLog.debug({ err: err.message }, 'series write failed'),
    };
    if (influx.version === 1) {
      this.sink = new BatchSink({ name: 'influx-v1', send: (lines) => postLines(target, lines), refused, ...common });
    } else {
      routeInfluxClientLogs(influxLog);
      this.sink = new InfluxSink({
        url: influx.url,
        token: influx.token ?? '',
        org: influx.org ?? '',
        bucket: influx.bucket,
        refused,
        ...common,
      });
    }
    this.recovery = new SpoolRecovery({
      spool: this.spool,
      dir,
      target,
      log: influxLog,
      counters,
      intervalMs: influx.replayIntervalMs,
      quarantine: (r) => this.quarantine.add(r),
    });
  }

  start(): void {
    this.recovery?.start();
  }

  async stop(): Promise<void> {
    await this.recovery?.stop();
    await this.sink.close();
    await this.sorting;
    if (this.sink !== this.spool) await this.spool.close();
  }

  /** Lines given up on, by the writer and by the spool behind it. */
  dropped(): number {
    return this.sink.stats().dropped + (this.sink === this.spool ? 0 : this.spool.stats().dropped);
  }
}
