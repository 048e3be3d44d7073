import { readdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/tmp.js';
import { DeliveryQueue, type QueueDropReason, Undeliverable } from './delivery-queue.js';

interface Item {
  id: string;
}

function queue(
  dir: string,
  deliver: (item: Item) => Promise<void>,
  extra: Partial<ConstructorParameters<typeof DeliveryQueue<Item>>[0]> = {},
) {
  const drops: Array<[string, QueueDropReason]> = [];
  const q = new DeliveryQueue<Item>({
    dir,
    deliver,
    maxBytes: 1_000_000,
    maxAgeMs: 3600_000,
    minBackoffMs: 10,
    maxBackoffMs: 40,
    onDrop: (item, reason) => drops.push([item.id, reason]),
    ...extra,
  });
  return { q, drops };
}

describe('the durable delivery queue', () => {
  it('delivers in order, one at a time, and forgets only what was delivered', async () => {
    const dir = await tempDir('dq');
    const seen: string[] = [];
    let busy = 0;
    const { q } = queue(dir, async (item) => {
      busy++;
      expect(busy).toBe(1);
      await new Promise((r) => setTimeout(r, 2));
      seen.push(item.id);
      busy--;
    });
    for (const id of ['a', 'b', 'c', 'd']) await q.put({ id }, 10);
    q.start();
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(q.stats()).toMatchObject({ pending: 0, pendingBytes: 0, delivered: 4 });
    expect(await readdir(dir)).toEqual([]);
  });

  it('retries a failing delivery with backoff, keeping the order, and reports the error while it lasts', async () => {
    const dir = await tempDir('dq');
    const seen: string[] = [];
    let failures = 3;
    const errors: number[] = [];
    const { q } = queue(
      dir,
      async (item) => {
        if (item.id === 'a' && failures-- > 0) throw new Error('sink down');
        seen.push(item.id);
      },
      { onError: (_i, _e, attempt) => errors.push(attempt) },
    );
    await q.put({ id: 'a' }, 1);
    await q.put({ id: 'b' }, 1);
    q.start();
    await new Promise((r) => setTimeout(r, 5));
    expect(q.stats().lastError).toBe('sink down');
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
    expect(errors).toEqual([1, 2, 3]);
    expect(q.stats().lastError).toBeUndefined();
  });

  it('survives a restart: what was pending is delivered by the next process, in order', async () => {
    const dir = await tempDir('dq');
    const first = queue(dir, () => Promise.reject(new Error('never')));
    for (const id of ['x', 'y', 'z']) await first.q.put({ id }, 5);
    first.q.stop(); // a crash: nothing delivered, nothing cleaned up
    // A torn write from the crash and a corrupt file are set aside, not delivered, not fatal.
    await writeFile(`${dir}/000000000099.json.123.7.tmp`, '{"n":99');
    await writeFile(`${dir}/000000000050.json`, 'not json');
    const seen: string[] = [];
    const second = queue(dir, async (item) => void seen.push(item.id));
    expect(second.q.corrupt).toBe(1);
    expect(second.q.stats().pending).toBe(3);
    second.q.start();
    await second.q.idle();
    expect(seen).toEqual(['x', 'y', 'z']);
    await second.q.put({ id: 'w' }, 5); // numbering goes on after the old jobs
    await second.q.idle();
    expect(seen.at(-1)).toBe('w');
    expect((await readdir(dir)).sort()).toEqual(['000000000050.json.corrupt']);
  });

  it('drops the oldest beyond its byte bound and by age, counted by reason', async () => {
    const dir = await tempDir('dq');
    let now = 1_000_000;
    const { q, drops } = queue(dir, () => Promise.reject(new Error('down')), { maxBytes: 25, maxAgeMs: 60_000, now: () => now });
    for (const id of ['1', '2', '3']) await q.put({ id }, 10);
    expect(drops).toEqual([['1', 'full']]);
    now += 61_000;
    await q.put({ id: '4' }, 10);
    expect(drops.slice(1).map((d) => d[1])).toEqual(['expired', 'expired']);
    expect(q.items().map((i) => i.id)).toEqual(['4']);
    expect(q.stats().dropped).toEqual({ full: 1, expired: 2, undeliverable: 0 });
  });

  it('gives up on an undeliverable job and goes on with the next', async () => {
    const dir = await tempDir('dq');
    const seen: string[] = [];
    const { q, drops } = queue(dir, async (item) => {
      if (item.id === 'gone') throw new Undeliverable('bytes purged');
      seen.push(item.id);
    });
    await q.put({ id: 'gone' }, 1);
    await q.put({ id: 'next' }, 1);
    q.start();
    await q.idle();
    expect(seen).toEqual(['next']);
    expect(drops).toEqual([['gone', 'undeliverable']]);
  });

  it('removes picked jobs (a purge) without touching the others', async () => {
    const dir = await tempDir('dq');
    const { q } = queue(dir, () => Promise.reject(new Error('down')));
    for (const id of ['keep', 'purge-me', 'keep-too']) await q.put({ id }, 1);
    expect(await q.remove((i) => i.id.startsWith('purge'))).toBe(1);
    expect(q.items().map((i) => i.id)).toEqual(['keep', 'keep-too']);
    expect((await readdir(dir)).length).toBe(2);
  });
});
