/**
 * The per-gateway message sequence. The platform detects loss by gaps, so a number must never be
 * used twice, even across a crash: the next value is on disk (fsync'd, atomic rename) before it
 * is handed out. Incidents are rare next to telemetry, so a small synchronous write is affordable.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export class Sequence {
  private last: number;
  private readonly file: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'seq');
    this.last = Sequence.read(this.file);
  }

  private static read(file: string): number {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`corrupt sequence file ${file}: '${text.slice(0, 40)}'`);
    return n;
  }

  get current(): number {
    return this.last;
  }

  next(): number {
    const value = this.last + 1;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, String(value));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.last = value;
    return value;
  }
}
