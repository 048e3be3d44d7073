import { appendFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import { laneOf } from './lanes.js';
import { message, outboxContract, putAll } from './contract.js';
import { Outbox } from './outbox.js';

outboxContract('file log', async () => {
  const dir = await tempDir('outbox');
  return { open: async (opts = {}) => new Outbox({ dir, lanes: laneOf, ...opts }) };
});

describe('outbox on a file', () => {
  it('resolves put only once the line is on disk', async () => {
    const dir = await tempDir('outbox');
    const outbox = new Outbox({ dir, lanes: laneOf });
    const seq = outbox.nextSeq();
    const durable = outbox.put(message(seq), 0);
    expect(outbox.next(10, new Set())).toEqual([]); // not durable yet, so not sendable
    await durable;
    expect(await readFile(path.join(dir, 'outbox.log'), 'utf8')).toContain(`"seq":${seq}`);
    expect(outbox.next(10, new Set()).map((e) => e.seq)).toEqual([seq]);
    await outbox.close();
  });

  it('recovers from a line torn by a crash, and appends cleanly after it', async () => {
    const dir = await tempDir('outbox');
    const a = new Outbox({ dir, lanes: laneOf });
    await putAll(a, ['fire.smoke_alarm', 'gas.leak']);
    await a.close();
    await appendFile(path.join(dir, 'outbox.log'), '{"t":"put","seq":3,"lane":0,"at":1,"m":{"sche');
    const b = new Outbox({ dir, lanes: laneOf });
    expect(b.stats()).toMatchObject({ pending: 2, lastSeq: 2, corruptLines: 0 });
    await putAll(b, ['fire.smoke_alarm']);
    await b.close();
    const c = new Outbox({ dir, lanes: laneOf });
    expect(c.next(10, new Set()).map((e) => e.seq)).toEqual([1, 2, 3]);
    await c.close();
  });

  it('skips and counts a corrupt line in the middle without losing the rest', async () => {
    const dir = await tempDir('outbox');
    const a = new Outbox({ dir, lanes: laneOf });
    await putAll(a, ['fire.smoke_alarm']);
    await a.close();
    await appendFile(path.join(dir, 'outbox.log'), 'garbage\n');
    const b = new Outbox({ dir, lanes: laneOf });
    await putAll(b, ['fire.smoke_alarm']);
    await b.close();
    const c = new Outbox({ dir, lanes: laneOf });
    expect(c.stats()).toMatchObject({ pending: 2, corruptLines: 1 });
    await c.close();
  });

  it('group-commits: many puts in one turn share one write', async () => {
    const dir = await tempDir('outbox');
    const outbox = new Outbox({ dir, lanes: laneOf });
    await putAll(
      outbox,
      Array.from({ length: 500 }, () => 'fire.smoke_alarm'),
    );
    const text = await readFile(path.join(dir, 'outbox.log'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(500);
    await outbox.close();
  });

  it('compacts a long settled log, keeping pending messages, the last seq and active incidents', async () => {
    const dir = await tempDir('outbox');
    const outbox = new Outbox({ dir, lanes: laneOf, compactAtBytes: 20_000 });
    for (let i = 0; i < 60; i++) {
      const seq = outbox.nextSeq();
      await outbox.put(message(seq, 'fire.smoke_alarm', { status: i === 10 ? 'open' : 'closed' }), 0);
      if (seq !== 59) outbox.ack(seq);
    }
    await outbox.flush();
    await outbox.flush();
    expect((await stat(path.join(dir, 'outbox.log'))).size).toBeLessThan(20_000);
    await outbox.close();
    const again = new Outbox({ dir, lanes: laneOf });
    expect(again.stats()).toMatchObject({ pending: 1, lastSeq: 60 });
    expect(again.liveIncidents().map((m) => m.seq)).toEqual([11]);
    expect(again.nextSeq()).toBe(61);
    await again.close();
  });
});
