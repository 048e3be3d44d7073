import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, waitFor, type RedisServer } from '../../test/helpers/servers.js';
import { laneOf } from './lanes.js';
import { message, outboxContract, putAll } from './contract.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { RedisLog } from './redis-log.js';

let redis: RedisServer;
const opened: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const close of opened) await close();
  await redis.stop();
});

/** An outbox on the shared stream `key`, as one node (one process instance) would open it. */
async function node(key: string, opts: Partial<OutboxOptions> = {}): Promise<{ outbox: Outbox; log: RedisLog }> {
  const conn = new Redis(redis.url);
  const log = new RedisLog({ redis: conn, key, instance: randomBytes(4).toString('hex'), compactAtRecords: 50 });
  const outbox = new Outbox({ log, lanes: laneOf, ...opts });
  await outbox.ready();
  const close = outbox.close.bind(outbox);
  let closed = false;
  outbox.close = async () => {
    if (closed) return;
    closed = true;
    await close();
    conn.disconnect();
  };
  opened.push(() => outbox.close());
  return { outbox, log };
}

outboxContract('redis stream', async () => {
  const key = `test:${randomBytes(6).toString('hex')}:outbox`;
  return { open: async (opts = {}) => (await node(key, opts)).outbox };
});

describe('outbox on a redis stream shared by two nodes', () => {
  it('each node sees what the other writes: puts, acks and the incidents not yet closed', async () => {
    const key = `test:${randomBytes(6).toString('hex')}:outbox`;
    const a = await node(key);
    const b = await node(key);
    const seen: string[] = [];
    b.outbox.onReplicated((m) => seen.push(`${m.id}:${m.revision}`));
    await putAll(a.outbox, ['fire.smoke_alarm', 'gas.leak']);
    await b.log.catchUp();
    expect(b.outbox.next(10, new Set()).map((e) => e.seq)).toEqual([1, 2]);
    expect(b.outbox.nextSeq()).toBe(3); // the next seq follows the other node's
    await b.outbox.put(message(3), 0);
    a.outbox.ack(1);
    await a.outbox.flush();
    await b.log.catchUp();
    await a.log.catchUp();
    expect(a.outbox.next(10, new Set()).map((e) => e.seq)).toEqual([2, 3]);
    expect(b.outbox.next(10, new Set()).map((e) => e.seq)).toEqual([2, 3]);
    expect(seen).toHaveLength(2);
    // The tail wakes on new records without anyone asking.
    await a.outbox.put(message(a.outbox.nextSeq() + 1, 'fire.smoke_alarm', { id: '01M81NNWD58FJT67P00HP00099' }), 0);
    await waitFor('the tail to bring the record over', () => b.outbox.stats().pending === 3 || undefined, 5000);
  });

  it('compacts: a reset and what still matters, the rest trimmed, and a node opening later sees the same', async () => {
    const key = `test:${randomBytes(6).toString('hex')}:outbox`;
    const conn = new Redis(redis.url);
    const a = await node(key);
    const b = await node(key);
    for (let i = 0; i < 60; i++) {
      const seq = a.outbox.nextSeq();
      await a.outbox.put(message(seq, 'fire.smoke_alarm', { status: i === 10 ? 'open' : 'closed' }), 0);
      if (seq !== 59) a.outbox.ack(seq);
    }
    await a.outbox.flush();
    expect(await a.log.compact()).toBe(true);
    expect(await conn.xlen(key)).toBeLessThan(10);
    await b.log.catchUp();
    for (const o of [b.outbox, (await node(key)).outbox]) {
      expect(o.stats()).toMatchObject({ pending: 1, lastSeq: 60 });
      expect(o.next(10, new Set()).map((e) => e.seq)).toEqual([59]);
      expect(o.liveIncidents().map((m) => m.seq)).toEqual([11]);
    }
    conn.disconnect();
  });
});
