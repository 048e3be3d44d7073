/**
 * The outbox's contract, one suite run against every log it can keep (as MQTT.js runs one suite
 * against every store): the file log (outbox.test.ts) and the HA pair's Redis stream
 * (redis-log.test.ts). A log passes when an outbox on it behaves the same.
 */
import { describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { laneOf } from './lanes.js';
import type { DropReason, OutboxEntry, OutboxOptions } from './outbox.js';
import type { Outbox } from './outbox.js';

export function message(seq: number, category = 'fire.smoke_alarm', extra: Partial<IncidentMessage> = {}): IncidentMessage {
  return {
    schema: 'gridedge.incident/v1',
    type: 'new',
    id: `01M81NNWD58FJT67P00HP${String(seq).padStart(5, '0')}`,
    seq,
    revision: 1,
    gatewayId: 'gw',
    grid: '110105001002001',
    category,
    severity: 'critical',
    status: 'open',
    occurredAt: '2026-11-22T12:00:00.000Z',
    lastOccurredAt: '2026-11-22T12:00:00.000Z',
    updatedAt: '2026-11-22T12:00:00.000Z',
    deadline: '2026-11-22T12:15:00.000Z',
    devices: [{ id: 'd', kind: 'smoke-alarm' }],
    facts: {},
    evidence: [],
    correlationKey: `k${seq}`,
    count: 1,
    ...extra,
  };
}

export async function putAll(outbox: Outbox, categories: string[]): Promise<void> {
  await Promise.all(
    categories.map((c) => {
      const seq = outbox.nextSeq();
      return outbox.put(message(seq, c), laneOf(c));
    }),
  );
}

/** Opens outboxes on one log: `open` again on the same store is a restart. */
export interface OutboxStore {
  open(opts?: Partial<OutboxOptions>): Promise<Outbox>;
}

export function outboxContract(name: string, makeStore: () => Promise<OutboxStore>): void {
  describe(`outbox contract: ${name}`, () => {
    it('keeps pending messages across a reopen and forgets acknowledged ones', async () => {
      const store = await makeStore();
      const a = await store.open();
      await putAll(a, ['fire.smoke_alarm', 'fire.smoke_alarm', 'fire.smoke_alarm']);
      a.ack(2);
      await a.close();
      const b = await store.open();
      expect(b.next(10, new Set()).map((e) => e.seq)).toEqual([1, 3]);
      expect(b.stats()).toMatchObject({ pending: 2, lastSeq: 3 });
      expect(b.nextSeq()).toBe(4);
      await b.close();
    });

    it('hands out fire and gas before vehicles and device health, in seq order within a lane', async () => {
      const store = await makeStore();
      const outbox = await store.open();
      await putAll(outbox, [
        'device.offline',
        'vehicle.watchlist_plate',
        'fire.smoke_alarm',
        'device.offline',
        'gas.leak',
        'lpg.cylinder_overdue',
      ]);
      expect(outbox.next(10, new Set()).map((e) => [e.seq, e.message.category])).toEqual([
        [3, 'fire.smoke_alarm'],
        [5, 'gas.leak'],
        [6, 'lpg.cylinder_overdue'],
        [2, 'vehicle.watchlist_plate'],
        [1, 'device.offline'],
        [4, 'device.offline'],
      ]);
      expect(outbox.next(2, new Set([3])).map((e) => e.seq)).toEqual([5, 6]);
      await outbox.close();
    });

    it('when full, drops the lowest-priority lane oldest first, counts it and says so', async () => {
      const store = await makeStore();
      const dropped: Array<[number, DropReason]> = [];
      const one = Buffer.byteLength(JSON.stringify(message(1)));
      const outbox = await store.open({ maxBytes: one * 4 + 10, onDrop: (e: OutboxEntry, r) => dropped.push([e.seq, r]) });
      await putAll(outbox, [
        'device.offline',
        'fire.smoke_alarm',
        'device.offline',
        'vehicle.watchlist_plate',
        'fire.smoke_alarm',
        'fire.smoke_alarm',
      ]);
      expect(dropped).toEqual([
        [1, 'full'],
        [3, 'full'],
      ]);
      expect(outbox.next(10, new Set()).map((e) => e.seq)).toEqual([2, 5, 6, 4]);
      expect(outbox.stats().dropped).toEqual({ full: 2, expired: 0 });
      await outbox.close();
      const again = await store.open();
      expect(again.stats().pending).toBe(4); // the drops are in the log too
      await again.close();
    });

    it('expires entries past the maximum age, sparing those in flight', async () => {
      const store = await makeStore();
      let clock = 1_000_000;
      const outbox = await store.open({ maxAgeMs: 60_000, now: () => clock });
      await putAll(outbox, ['fire.smoke_alarm', 'device.offline']);
      clock += 30_000;
      await putAll(outbox, ['device.offline']);
      clock += 40_000;
      expect(outbox.expire(new Set([1]))).toBe(1);
      expect(outbox.next(10, new Set()).map((e) => e.seq)).toEqual([1, 3]);
      expect(outbox.stats().dropped.expired).toBe(1);
      await outbox.close();
    });

    it('refuses a put after close', async () => {
      const outbox = await (await makeStore()).open();
      await outbox.close();
      await expect(outbox.put(message(1), 0)).rejects.toThrow(/closed/);
    });
  });
}
