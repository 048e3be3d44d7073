/**
 * Brings spooled readings home: while the series server refused them they went to the spool;
 * every `intervalMs` this closes the spool's current file (rotate) and replays every closed file,
 * oldest first. A failed replay leaves the files for the next try, so it doubles as the probe
 * that notices the server is back.
 */
import type { Logger } from '../../core/log.js';
import type { Counters } from '../../core/counters.js';
import { replaySpool, type ReplayTarget } from './replay.js';
import type { SpoolSink } from './spool.js';
import { spoolFileName } from './spool.js';
import type { Refused } from './split.js';

export interface RecoveryOptions {
  spool: SpoolSink;
  dir: string;
  target: ReplayTarget;
  log: Logger;
  counters: Counters;
  intervalMs?: number;
  /** Where lines the server refuses one by one go (the spool's files still flow). */
  quarantine?: (refused: Refused[]) => Promise<void>;
}

export class SpoolRecovery {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly opts: RecoveryOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  /** One attempt; concurrent calls share it. */
  runOnce(): Promise<void> {
    this.running ??= this.attempt().finally(() => (this.running = undefined));
    return this.running;
  }

  private async attempt(): Promise<void> {
    const { spool, log, counters } = this.opts;
    if (spool.bytesOnDisk === 0 && spool.stats().pending === 0) return;
    await spool.rotate();
    const marker = spoolFileName(Date.now());
    try {
      const result = await replaySpool({
        dir: this.opts.dir,
        target: this.opts.target,
        only: (name) => name < marker,
        ...(this.opts.quarantine ? { quarantine: this.opts.quarantine } : {}),
      });
      if (result.files > 0) {
        spool.released(result.bytes);
        counters.inc('series_replayed_lines_total', undefined, result.lines);
        log.info({ files: result.files, lines: result.lines }, 'spooled readings replayed to the series server');
      }
    } catch (err) {
      counters.inc('series_replay_failures_total');
      log.debug({ err: (err as Error).message }, 'spool replay will be retried');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
