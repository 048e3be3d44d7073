import { appendFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import type { IncidentMessage } from '../incidents/schema.js';
import { laneOf } from './lanes.js';
import { Outbox, type DropReason, type OutboxEntry } from './outbox.js';

function message(seq: number, category = 'fire.smoke_alarm', extra: Partial<IncidentMessage> = {}): IncidentMessage {
  return {
    schema: 'gridedge.incident/v1', type: 'new', id: `01M81NNWD58FJT67P00HP${String(seq).padStart(5, '0')}`, seq, revision: 1,
    gatewayId: 'gw', grid: '110105001002001', category, severity: 'critical', status: 'open',
    occurredAt: '2026-11-22T12:00:00.000Z', lastOccurredAt: '2026-11-22T12:00:00.000Z', updatedAt: '2026-11-22T12:00:00.000Z',
    deadline: '2026-11-22T12:15:00.000Z', devices: [{ id: 'd', kind: 'smoke-alarm' }], facts: {}, evidence: [],
    correlationKey: `k${seq}`, count: 1, ...extra,
  };
}

async function putAll(outbox: Outbox, categories: string[]): Promise<void> {
  await Promise.all(categories.map((c) => {
    const seq = outbox.nextSeq();
    return outbox.put(message(seq, c), laneOf(c));
  }));
}

describe('outbox', () => {
  it('keeps pending messages across a reopen and forgets acknowledged ones', async () => {
    const dir = await tempDir('outbox');
    const a = new Outbox({ dir, lanes: laneOf });
    await putAll(a, ['fire.smoke_alarm', 'fire.smoke_alarm', 'fire.smoke_alarm']);
    a.ack(2);
    await a.close();
    const b = new Outbox({ dir, lanes: laneOf });
    expect(b.next(10, new Set()).map((e) => e.seq)).toEqual([1, 3]);
    expect(b.stats()).toMatchObject({ pending: 2, lastSeq: 3 });
    expect(b.nextSeq()).toBe(4);
    await b.close();
  });

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

  it('hands out fire and gas before vehicles and device health, in seq order within a lane', async () => {
    const dir = await tempDir('outbox');
    const outbox = new Outbox({ dir, lanes: laneOf });
    await putAll(outbox, ['device.offline', 'vehicle.watchlist_plate', 'fire.smoke_alarm', 'device.offline', 'gas.leak', 'lpg.cylinder_overdue']);
    expect(outbox.next(10, new Set()).map((e) => [e.seq, e.message.category])).toEqual([
      [3, 'fire.smoke_alarm'], [5, 'gas.leak'], [6, 'lpg.cylinder_overdue'], [2, 'vehicle.watchlist_plate'], [1, 'device.offline'], [4, 'device.offline'],
    ]);
    expect(outbox.next(2, new Set([3])).map((e) => e.seq)).toEqual([5, 6]);
    await outbox.close();
  });

  it('when full, drops the lowest-priority lane oldest first, counts it and says so', async () => {
    const dir = await tempDir('outbox');
    const dropped: Array<[number, DropReason]> = [];
    const one = Buffer.byteLength(JSON.stringify(message(1)));
    const outbox = new Outbox({ dir, lanes: laneOf, maxBytes: one * 4 + 10, onDrop: (e: OutboxEntry, r) => dropped.push([e.seq, r]) });
    await putAll(outbox, ['device.offline', 'fire.smoke_alarm', 'device.offline', 'vehicle.watchlist_plate', 'fire.smoke_alarm', 'fire.smoke_alarm']);
    expect(dropped).toEqual([[1, 'full'], [3, 'full']]);
    expect(outbox.next(10, new Set()).map((e) => e.seq)).toEqual([2, 5, 6, 4]);
    expect(outbox.stats().dropped).toEqual({ full: 2, expired: 0 });
    await outbox.close();
    const again = new Outbox({ dir, lanes: laneOf });
    expect(again.stats().pending).toBe(4); // the drops are in the log too
    await again.close();
  });

  it('expires entries past the maximum age, sparing those in flight', async () => {
    const dir = await tempDir('outbox');
    let clock = 1_000_000;
    const outbox = new Outbox({ dir, lanes: laneOf, maxAgeMs: 60_000, now: () => clock });
    await putAll(outbox, ['fire.smoke_alarm', 'device.offline']);
    clock += 30_000;
    await putAll(outbox, ['device.offline']);
    clock += 40_000;
    expect(outbox.expire(new Set([1]))).toBe(1);
    expect(outbox.next(10, new Set()).map((e) => e.seq)).toEqual([1, 3]);
    expect(outbox.stats().dropped.expired).toBe(1);
    await outbox.close();
  });

  it('group-commits: many puts in one turn share one write', async () => {
    const dir = await tempDir('outbox');
    const outbox = new Outbox({ dir, lanes: laneOf });
    await putAll(outbox, Array.from({ length: 500 }, () => 'fire.smoke_alarm'));
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

  it('refuses a put after close', async () => {
    const outbox = new Outbox({ dir: await tempDir('outbox'), lanes: laneOf });
    await outbox.close();
    await expect(outbox.put(message(1), 0)).rejects.toThrow(/closed/);
  });
});
