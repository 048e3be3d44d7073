/**
 * Sends spooled line protocol to an InfluxDB v2 write API, oldest hour first, and removes each
 * file once the server has taken all of it. A failure stops the replay with the file intact,
 * so running it again resumes where it stopped (points are idempotent: same series, same time).
 */
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { InfluxDB } from '@influxdata/influxdb-client';
import { SPOOL_SUFFIX } from './spool.js';
import { gridedgeError } from '../../core/errors.js';

const INCLUDE_HINT = '--include-current to send it';

export interface ReplayTarget {
  url: string;
  token: string;
  org: string;
  bucket: string;
}

export interface ReplayOptions {
  dir: string;
  target: ReplayTarget;
  /** The newest file may still be appended to by a running gateway: skipped unless asked. */
  includeCurrent?: boolean;
  /** Replay only the files this accepts (the gateway passes the ones closed by a rotation). */
  only?: (name: string) => boolean;
  /** Rename replayed files to `*.lp.replayed` instead of deleting them. */
  keep?: boolean;
  batchLines?: number;
  progress?: (line: string) => void;
}

export interface ReplayResult {
  files: number;
  lines: number;
  bytes: number;
  skipped: string[];
}

export async function replaySpool(opts: ReplayOptions): Promise<ReplayResult> {
  const progress = opts.progress ?? (() => undefined);
  const batchLines = opts.batchLines ?? 5000;
  let names: string[];
  try {
    names = (await readdir(opts.dir)).filter((f) => f.endsWith(SPOOL_SUFFIX) && (opts.only?.(f) ?? true)).sort();
  } catch (err) {
    throw gridedgeError('GE_ERR_SPOOL_UNREADABLE', opts.dir, (err as Error).message);
  }
  const newest = names.at(-1);
  const skipped = opts.includeCurrent || opts.only || !newest ? [] : [newest];
  const todo = names.filter((n) => !skipped.includes(n));
  if (todo.length === 0) {
    progress(
      `nothing to replay in ` +
        `${opts.dir}${skipped.length ? ` (skipped ${newest}, the newest, which a running gateway may still write; ${INCLUDE_HINT})` : ''}`,
    );
    return { files: 0, lines: 0, bytes: 0, skipped };
  }

  const client = new InfluxDB({ url: opts.target.url, token: opts.target.token, timeout: 30_000 });
  let total = 0;
  let bytes = 0;
  for (const [i, name] of todo.entries()) {
    const file = path.join(opts.dir, name);
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n').filter((l) => l.length > 0);
    // No retries inside: a failure must surface here so the file stays for the next run.
    const api = client.getWriteApi(opts.target.org, opts.target.bucket, 'ms', {
      batchSize: batchLines + 1,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: 4096,
    });
    try {
      for (let start = 0; start < lines.length; start += batchLines) {
        api.writeRecords(lines.slice(start, start + batchLines));
        await api.flush();
      }
    } catch (err) {
      await api.close().catch(() => undefined);
      throw new Error(`replay stopped at ${name} (${i} of ${todo.length} files done, ${total} lines sent): ${(err as Error).message}`);
    }
    await api.close();
    if (opts.keep) await rename(file, `${file}.replayed`);
    else await unlink(file);
    total += lines.length;
    bytes += Buffer.byteLength(text);
    progress(`[${i + 1}/${todo.length}] ${name}: ${lines.length} lines sent`);
  }
  progress(
    `replayed ${total} lines from ${todo.length} ` +
      `files${skipped.length ? `; skipped ${newest} (the newest, which a running gateway may still write)` : ''}`,
  );
  return { files: todo.length, lines: total, bytes, skipped };
}
