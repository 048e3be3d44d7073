/**
 * Line protocol appended to hourly files in a local folder: the embedded default when no
 * InfluxDB is configured, and the fallback when it refuses. Lines are buffered and appended
 * asynchronously in batches, so the ingest path never waits for the disk.
 * Replay: `gridedge spool replay --config FILE` (or curl --data-binary @FILE to /api/v2/write).
 */
import { appendFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SeriesSink, SinkStats } from './sink.js';

export interface SpoolOptions {
  dir: string;
  /** Stop appending (and count drops) beyond this many bytes in the folder. */
  maxBytes?: number;
  flushIntervalMs?: number;
  /** Flush early when this many lines wait. */
  batchLines?: number;
  onError?: (err: Error) => void;
}

export const SPOOL_SUFFIX = '.lp';

/**
 * `2026-11-22T13-05-09-123.lp`: named when opened (UTC), so names sort by age. A file is
 * appended to until the hour changes or `rotate()` is called; then it is closed for good and can
 * be replayed and removed whole.
 */
export function spoolFileName(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23).replace(/[:.]/g, '-')}${SPOOL_SUFFIX}`;
}

export class SpoolSink implements SeriesSink {
  readonly name = 'spool';
  private buffer: string[] = [];
  private bytes = 0;
  private written = 0;
  private dropped = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly maxBytes: number;
  private readonly batchLines: number;
  private ready: Promise<void>;
  private current?: { name: string; hour: string };

  constructor(private readonly opts: SpoolOptions) {
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.batchLines = opts.batchLines ?? 5000;
    this.ready = this.init();
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  private async init(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true });
    for (const f of await readdir(this.opts.dir)) {
      if (f.endsWith(SPOOL_SUFFIX)) this.bytes += (await stat(path.join(this.opts.dir, f))).size;
    }
  }

  writeLine(line: string): void {
    this.buffer.push(line);
    if (this.buffer.length >= this.batchLines) void this.flush();
  }

  writeLines(lines: string[]): void {
    for (const l of lines) this.buffer.push(l);
    void this.flush();
  }

  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.chain;
    const lines = this.buffer;
    this.buffer = [];
    this.chain = this.chain.then(() => this.append(lines));
    return this.chain;
  }

  private async append(lines: string[]): Promise<void> {
    try {
      await this.ready;
      const text = `${lines.join('\n')}\n`;
      const size = Buffer.byteLength(text);
      if (this.bytes + size > this.maxBytes) {
        this.dropped += lines.length;
        throw new Error(`spool ${this.opts.dir} is full (${this.bytes} of ${this.maxBytes} bytes): ${lines.length} lines dropped`);
      }
      await appendFile(path.join(this.opts.dir, this.fileFor(Date.now())), text);
      this.bytes += size;
      this.written += lines.length;
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }

  private fileFor(now: number): string {
    const hour = new Date(now).toISOString().slice(0, 13);
    if (!this.current || this.current.hour !== hour) this.current = { name: spoolFileName(now), hour };
    return this.current.name;
  }

  /** The file appends go to now, if one is open. */
  get currentFile(): string | undefined {
    return this.current?.name;
  }

  /** Closes the current file for good once what is buffered is in it; later lines start a new file. */
  async rotate(): Promise<void> {
    await this.flush();
    this.current = undefined;
  }

  /** Bytes of spool files on disk (they count against maxBytes until replayed). */
  get bytesOnDisk(): number {
    return this.bytes;
  }

  /** Replayed files leave the folder: their bytes no longer count against the bound. */
  released(bytes: number): void {
    this.bytes = Math.max(0, this.bytes - bytes);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  stats(): SinkStats {
    return { written: this.written, pending: this.buffer.length, dropped: this.dropped };
  }
}
