/**
 * Who read which evidence, when (PIPL art. 55 and GB/T 35273 §9.1 ask a processor of images
 * of people to be able to show it): every read through the API, by token or by signed link,
 * allowed or refused, one JSON line each in `state/evidence-access.jsonl`, kept
 * `evidence.accessLog.maxDays`, queried by `GET /api/evidence-access` and `gridedge evidence
 * access`. The line holds the token's *name*, never the token, and no link signature.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface AccessEntry {
  at: string;
  sha256: string;
  /** The token's name, or `signed-link`. */
  who: string;
  via: 'token' | 'link';
  /** The HTTP status answered (200, 403, 404, 410). */
  status: number;
  ip?: string;
  class?: string;
}

export interface AccessQuery {
  sha256?: string;
  who?: string;
  since?: number;
  until?: number;
  limit?: number;
}

export class EvidenceAccessLog {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly maxDays: number,
  ) {
    this.file = path.join(stateDir, 'evidence-access.jsonl');
  }

  /** Appends one entry; entries are written in the order they are recorded. */
  record(entry: Omit<AccessEntry, 'at'>, now = Date.now()): Promise<void> {
    const line = `${JSON.stringify({ at: new Date(now).toISOString(), ...entry })}\n`;
    this.writing = this.writing.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, line);
    });
    return this.writing;
  }

  /** Entries matching the query, newest first. */
  async query(q: AccessQuery = {}): Promise<AccessEntry[]> {
    await this.writing;
    const out: AccessEntry[] = [];
    for (const e of await this.read()) {
      const t = Date.parse(e.at);
      if (q.sha256 && e.sha256 !== q.sha256) continue;
      if (q.who && e.who !== q.who) continue;
      if (q.since !== undefined && t < q.since) continue;
      if (q.until !== undefined && t > q.until) continue;
      out.push(e);
    }
    return out.reverse().slice(0, q.limit ?? 1000);
  }

  /** Drops entries older than `maxDays`; returns how many went. */
  async prune(now = Date.now()): Promise<number> {
    await this.writing;
    const all = await this.read();
    const keep = all.filter((e) => Date.parse(e.at) >= now - this.maxDays * 86_400_000);
    if (keep.length === all.length) return 0;
    this.writing = this.writing.then(() => writeFile(this.file, keep.map((e) => `${JSON.stringify(e)}\n`).join('')));
    await this.writing;
    return all.length - keep.length;
  }

  private async read(): Promise<AccessEntry[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    const out: AccessEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as AccessEntry);
      } catch {
        /* a torn last line after a crash */
      }
    }
    return out;
  }
}
