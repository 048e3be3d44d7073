/**
 * Evidence (snapshots, face and plate crops) stored by content: the file name is the sha256 of
 * the bytes, written to a temporary name, fsync'd and renamed, so a reference never points at a
 * half-written file. Faces and plates are personal data: each class has its own retention, and
 * a sweep deletes what has expired and counts it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../../core/durable.js';

import { EVIDENCE_CLASSES, type EvidenceClass } from '../../contracts/incident.js';

export { EVIDENCE_CLASSES, type EvidenceClass };

export const SHA256 = /^[0-9a-f]{64}$/;

export interface EvidenceRef {
  sha256: string;
  class: EvidenceClass;
  mime: string;
  bytes: number;
}

interface Meta {
  class: EvidenceClass;
  mime: string;
  storedAt: number;
}

export interface EvidenceStoreOptions {
  dir: string;
  /** Hours each class is kept. */
  retentionHours: Record<EvidenceClass, number>;
  now?: () => number;
}

export class EvidenceStore {
  private readonly now: () => number;

  constructor(private readonly opts: EvidenceStoreOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  private pathOf(sha256: string): string {
    return path.join(this.opts.dir, sha256.slice(0, 2), sha256);
  }

  /** Puts of the same content one after the other: two at once would race on its metadata file. */
  private readonly writing = new Map<string, Promise<unknown>>();

  /** Stores the bytes (once per content) and resolves when they are durable. */
  put(bytes: Buffer, cls: EvidenceClass, mime: string): Promise<EvidenceRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const before = this.writing.get(sha256) ?? Promise.resolve();
    const p = before.catch(() => undefined).then(() => this.write(sha256, bytes, cls, mime));
    this.writing.set(sha256, p);
    void p
      .finally(() => {
        if (this.writing.get(sha256) === p) this.writing.delete(sha256);
      })
      .catch(() => undefined);
    return p;
  }

  private async write(sha256: string, bytes: Buffer, cls: EvidenceClass, mime: string): Promise<EvidenceRef> {
    const file = this.pathOf(sha256);
    await mkdir(path.dirname(file), { recursive: true });
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) await writeFileDurably(file, bytes);
    // Storing the same content again restarts its retention (it is evidence of a new incident).
    const meta: Meta = { class: cls, mime, storedAt: this.now() };
    // Whole or not at all: a reader (or a crash) never sees half of it.
    await writeFileDurably(`${file}.json`, JSON.stringify(meta));
    return { sha256, class: cls, mime, bytes: bytes.length };
  }

  async get(sha256: string): Promise<{ bytes: Buffer; mime: string; class: EvidenceClass } | undefined> {
    if (!SHA256.test(sha256)) return undefined; // never let a request name a path
    try {
      const [bytes, metaText] = await Promise.all([readFile(this.pathOf(sha256)), readFile(`${this.pathOf(sha256)}.json`, 'utf8')]);
      const meta = JSON.parse(metaText) as Meta;
      return { bytes, mime: meta.mime, class: meta.class };
    } catch {
      return undefined;
    }
  }

  /** Deletes one object and its metadata (a purge); false when it was not there. */
  async delete(sha256: string): Promise<boolean> {
    if (!SHA256.test(sha256)) return false;
    const file = this.pathOf(sha256);
    const existed = await stat(file).then(
      () => true,
      () => false,
    );
    await rm(file, { force: true });
    await rm(`${file}.json`, { force: true });
    return existed;
  }

  /** Deletes evidence past its class's retention; returns how many of each class went. */
  async sweep(): Promise<Partial<Record<EvidenceClass, number>>> {
    const deleted: Partial<Record<EvidenceClass, number>> = {};
    const now = this.now();
    let shards: string[];
    try {
      shards = await readdir(this.opts.dir);
    } catch {
      return deleted;
    }
    for (const shard of shards) {
      const dir = path.join(this.opts.dir, shard);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.json')) continue;
        const file = path.join(dir, name.slice(0, -5));
        let meta: Meta;
        try {
          meta = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Meta;
        } catch {
          continue;
        }
        const keepMs = (this.opts.retentionHours[meta.class] ?? 0) * 3600_000;
        if (meta.storedAt + keepMs <= now) {
          await rm(file, { force: true });
          await rm(path.join(dir, name), { force: true });
          deleted[meta.class] = (deleted[meta.class] ?? 0) + 1;
        }
      }
    }
    return deleted;
  }
}
