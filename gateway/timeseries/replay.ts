/**
 * Sends spooled line protocol to the series server, oldest hour first, and removes each file once
 * the server has taken all of it. Lines the server refuses one by one (a type conflict) go to the
 * quarantine and the rest of the file flows (split.ts); any other failure stops the replay with
 * the file intact, so running it again resumes where it stopped (points are idempotent: same
 * series, same time).
 */
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { SPOOL_SUFFIX } from './spool.js';
import { gridedgeError } from '../../core/errors.js';
import { leftOver, type Refused, sendSplitting } from './split.js';
import { postLines, type SeriesTarget } from './target.js';

const INCLUDE_HINT = '--include-current to send it';

export type ReplayTarget = SeriesTarget;

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
  /** Where lines the server refused one by one are kept; without it, a refusal stops the replay. */
  quarantine?: (refused: Refused[]) => Promise<void>;
}

export interface ReplayResult {
  files: number;
  lines: number;
  bytes: number;
  skipped: string[];
  /** Lines the server refused, now in the quarantine. */
  refused: number;
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
    return { files: 0, lines: 0, bytes: 0, skipped, refused: 0 };
  }

  let total = 0;
  let bytes = 0;
  let refusedTotal = 0;
  for (const [i, name] of todo.entries()) {
    const file = path.join(opts.dir, name);
    const text = await readFile(file, 'utf8');
    // Comment lines (#) are the quarantine's notes: never sent.
    const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
    let refused = 0;
    try {
      for (let start = 0; start < lines.length; start += batchLines) {
        const batch = lines.slice(start, start + batchLines);
        if (!opts.quarantine) await postLines(opts.target, batch);
        else {
          const r = await sendSplitting((part) => postLines(opts.target, part), batch).catch(async (err: unknown) => {
            // Those refused before the server went away are kept; the file stays whole for the next try.
            await opts.quarantine!(leftOver(err, batch).refused);
            throw err;
          });
          refused += r.length;
          await opts.quarantine(r);
        }
      }
    } catch (err) {
      throw new Error(`replay stopped at ${name} (${i} of ${todo.length} files done, ${total} lines sent): ${(err as Error).message}`);
    }
    if (opts.keep) await rename(file, `${file}.replayed`);
    else await unlink(file);
    total += lines.length - refused;
    refusedTotal += refused;
    bytes += Buffer.byteLength(text);
    progress(
      `[${i + 1}/${todo.length}] ${name}: ${lines.length - refused} lines sent${refused ? `, ${refused} refused (quarantined)` : ''}`,
    );
  }
  progress(
    `replayed ${total} lines from ${todo.length} ` +
      `files${skipped.length ? `; skipped ${newest} (the newest, which a running gateway may still write)` : ''}`,
  );
  return { files: todo.length, lines: total, bytes, skipped, refused: refusedTotal };
}
