/**
 * Lines the series server refused one by one are kept here, never dropped and never retried by
 * themselves: `<dataDir>/spool/quarantine/<UTC date>.lp`, each after a comment saying when and
 * why. They are counted (`series_quarantined_lines_total`), shown in /healthz, listed by
 * `gridedge spool quarantine`, and once the cause is fixed (a field's type in the server) sent
 * with `gridedge spool replay --dir <that folder> --include-current`.
 */
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import type { Refused } from './split.js';

export class Quarantine {
  private lines = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {}

  /** Appends refused lines (durability is the spool's job: these were already read from it or from memory). */
  add(refused: Refused[]): Promise<void> {
    if (!refused.length) return this.chain;
    this.lines += refused.length;
    this.counters.inc('series_quarantined_lines_total', undefined, refused.length);
    this.log.warn(
      { lines: refused.length, reason: refused[0]!.reason.slice(0, 300), dir: this.dir },
      'the series server refused lines; kept in quarantine, the rest flows',
    );
    const now = new Date();
    const text = refused.map((r) => `# ${now.toISOString()} refused: ${r.reason.replace(/\s+/g, ' ').slice(0, 500)}\n${r.line}\n`).join('');
    const file = path.join(this.dir, `${now.toISOString().slice(0, 10)}.lp`);
    this.chain = this.chain.then(async () => {
      await mkdir(this.dir, { recursive: true });
      await appendFile(file, text);
    });
    return this.chain.catch((err: unknown) => this.log.error({ err: (err as Error).message, file }, 'cannot write the series quarantine'));
  }

  /** Lines quarantined since the gateway started. */
  get count(): number {
    return this.lines;
  }
}

/** What is in a quarantine folder: per file, its lines and the reasons given. */
export async function readQuarantine(dir: string): Promise<Array<{ file: string; lines: number; reasons: string[] }>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Array<{ file: string; lines: number; reasons: string[] }> = [];
  for (const name of names.filter((n) => n.endsWith('.lp')).sort()) {
    const text = await readFile(path.join(dir, name), 'utf8');
    const rows = text.split('\n');
    const reasons = [...new Set(rows.filter((l) => l.startsWith('# ')).map((l) => l.replace(/^# \S+ refused: /, '')))];
    out.push({ file: path.join(dir, name), lines: rows.filter((l) => l && !l.startsWith('#')).length, reasons });
  }
  return out;
}
