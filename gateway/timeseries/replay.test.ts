import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVictoriaMetrics, waitFor, type VictoriaMetrics } from '../../test/helpers/servers.js';
import { createLogger } from '../../core/log.js';
import { routeInfluxClientLogs } from './influx.js';
import { toLine } from './sink.js';
import { replaySpool } from './replay.js';
import { spoolFileName } from './spool.js';

let vm: VictoriaMetrics;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
});
afterAll(async () => {
  await vm?.stop();
});

async function spoolWith(hours: Array<{ at: number; values: number[] }>, measurement: string): Promise<string> {
  const dir = await tempDir('replay');
  for (const h of hours) {
    const lines = h.values.map((v, i) => toLine({ measurement, tags: { device: 'd1' }, fields: { v }, ts: h.at + i }));
    await writeFile(path.join(dir, spoolFileName(h.at)), `${lines.join('\n')}\n`);
  }
  return dir;
}

describe('spool replay', () => {
  routeInfluxClientLogs(createLogger('silent')); // the failure test's refusals are expected
  it('sends every spooled line, oldest file first, removes the files and leaves the newest alone', async () => {
    const now = Date.now();
    const earlier = now - 3 * 3600_000;
    const dir = await spoolWith(
      [
        { at: earlier, values: Array.from({ length: 12_000 }, (_, i) => i) }, // more than one batch
        { at: now - 3600_000, values: [7, 8, 9] },
        { at: now, values: [100] },
      ],
      'replay_a',
    );
    const progress: string[] = [];
    const result = await replaySpool({
      dir,
      target: { url: vm.url, token: 't', org: 'o', bucket: 'b' },
      progress: (l) => progress.push(l),
    });
    expect(result).toMatchObject({ files: 2, lines: 12_003, skipped: [spoolFileName(now)] });
    expect(await readdir(dir)).toEqual([spoolFileName(now)]);
    expect(progress[0]).toMatch(/^\[1\/2\] .*: 12000 lines sent$/);
    const series = await waitFor('replayed points', async () => {
      const s = (await vm.exportSeries('replay_a_v'))[0];
      return s && s.values.length === 12_003 ? s : undefined;
    });
    expect(series.timestamps[0]).toBe(earlier);
    expect(series.values.slice(-3)).toEqual([7, 8, 9]);
  });

  it('stops at a failure with the file kept, so a second run resumes', async () => {
    const dir = await spoolWith(
      [
        { at: Date.now() - 7200_000, values: [1, 2] },
        { at: Date.now(), values: [3] },
      ],
      'replay_b',
    );
    await expect(replaySpool({ dir, target: { url: 'http://127.0.0.1:9', token: 't', org: 'o', bucket: 'b' } })).rejects.toThrow(
      /replay stopped at .*\.lp \(0 of 1 files done, 0 lines sent\)/,
    );
    expect(await readdir(dir)).toHaveLength(2);
    const ok = await replaySpool({ dir, target: { url: vm.url, token: 't', org: 'o', bucket: 'b' }, keep: true, includeCurrent: true });
    expect(ok.lines).toBe(3);
    expect((await readdir(dir)).every((f) => f.endsWith('.lp.replayed'))).toBe(true);
  });

  it('says so when there is nothing to replay', async () => {
    const dir = await tempDir('replay');
    const progress: string[] = [];
    expect(
      await replaySpool({ dir, target: { url: vm.url, token: 't', org: 'o', bucket: 'b' }, progress: (l) => progress.push(l) }),
    ).toEqual({ files: 0, lines: 0, bytes: 0, skipped: [], refused: 0 });
    expect(progress).toEqual([`nothing to replay in ${dir}`]);
    await expect(replaySpool({ dir: path.join(dir, 'nope'), target: { url: vm.url, token: 't', org: 'o', bucket: 'b' } })).rejects.toThrow(
      /cannot read the spool folder/,
    );
  });
});
