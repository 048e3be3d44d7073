/**
 * The outbox's log on local disk: JSON lines, group-committed (every record appended in one turn
 * of the event loop shares one write and one fdatasync), recovered after a crash by dropping a
 * torn last line, compacted by rewriting it with only what still matters once it is large and
 * mostly settled.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { mkdirSync, readFileSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '../../core/durable.js';
import type { LogRecord, OutboxLog, OutboxState } from './log.js';

export class FileLog implements OutboxLog {
  corruptRecords = 0;
  private readonly file: string;
  private handle?: FileHandle;
  private logBytes = 0;
  private buffer: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private flushing?: Promise<void>;
  private flushScheduled = false;
  private state?: OutboxState;

  constructor(
    private readonly dir: string,
    private readonly opts: { compactAtBytes?: number; onError?: (err: Error) => void } = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'outbox.log');
  }

  load(state: OutboxState): LogRecord[] {
    this.state = state;
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const records: LogRecord[] = [];
    let goodBytes = 0;
    const lines = text.split('\n');
    // The last element is '' after a complete final line; anything else there was torn by a crash.
    for (let i = 0; i < lines.length - 1; i++) {
      const line = lines[i]!;
      goodBytes += Buffer.byteLength(line) + 1;
      if (line.length === 0) continue;
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        this.corruptRecords++;
      }
    }
    // Drop a torn tail so the next append starts on a line of its own.
    if (goodBytes < Buffer.byteLength(text)) truncateSync(this.file, goodBytes);
    this.logBytes = goodBytes;
    return records;
  }

  append(record: LogRecord, waitDurable: boolean): Promise<void> {
    this.buffer.push(JSON.stringify(record));
    const p = waitDurable ? new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject })) : Promise.resolve();
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
        this.handle ??= await open(this.file, 'a');
        const handle = this.handle;
        const text = `${lines.join('\n')}\n`;
        await handle.appendFile(text);
        await handle.datasync();
        if (created) await fsyncDir(this.dir); // the new file's name must survive a power cut too
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
    const state = this.state;
    if (!state || this.logBytes < limit || state.pendingBytes() * 2 > this.logBytes) return;
    // Entries not yet durable are still in the buffer and will be appended after the swap.
    const records = state.snapshot(false);
    await this.handle?.close();
    this.handle = undefined;
    await writeFileDurably(this.file, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    this.handle = await open(this.file, 'a');
    this.logBytes = (await stat(this.file)).size;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
  }
}
