import { describe, expect, it } from 'vitest';
import type { DeviceInfo } from '../../devices/types.js';
import { assertIncident } from '../../test/helpers/incident-schema.js';
import { IncidentManager } from './manager.js';
import type { IncidentMessage } from '../../contracts/incident.js';

const device: DeviceInfo = {
  id: 'smoke-01',
  kind: 'smoke-alarm',
  grid: '110105001002001',
  name: 'Stairwell 2F',
  location: { lat: 39.9, lon: 116.4 },
};
const key = 'fire.smoke_alarm:smoke-01';

function setup() {
  let seq = 0;
  let clock = Date.UTC(2026, 10, 22, 12, 0, 0);
  const manager = new IncidentManager({ gatewayId: 'gw-1', nextSeq: () => ++seq, now: () => clock });
  const seen: IncidentMessage[] = [];
  manager.onMessage((m) => seen.push(assertIncident(m)));
  return { manager, seen, tick: (ms: number) => (clock += ms), at: () => clock };
}

describe('incident manager', () => {
  it('raises a new incident with the contract fields filled in', () => {
    const { manager, seen, at } = setup();
    manager.handle(
      { action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: { smokeDensity: 2 } },
      device,
    );
    expect(seen).toHaveLength(1);
    const m = seen[0]!;
    expect(m).toMatchObject({
      schema: 'gridedge.incident/v1',
      type: 'new',
      seq: 1,
      revision: 1,
      gatewayId: 'gw-1',
      grid: '110105001002001',
      category: 'fire.smoke_alarm',
      severity: 'critical',
      status: 'open',
      count: 1,
      correlationKey: key,
      devices: [{ id: 'smoke-01', kind: 'smoke-alarm', name: 'Stairwell 2F' }],
      location: { lat: 39.9, lon: 116.4, name: 'Stairwell 2F' },
      facts: { smokeDensity: 2 },
      evidence: [],
    });
    expect(Date.parse(m.deadline) - Date.parse(m.occurredAt)).toBe(15 * 60_000);
    expect(m.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('folds repeats into the open incident: same id, count up, latest facts, next seq', () => {
    const { manager, seen, tick, at } = setup();
    const raise = (density: number) =>
      manager.handle(
        { action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: { smokeDensity: density } },
        device,
      );
    raise(1);
    tick(5000);
    raise(3);
    tick(5000);
    raise(4);
    expect(seen.map((m) => [m.type, m.count, m.seq, m.revision, m.facts.smokeDensity])).toEqual([
      ['new', 1, 1, 1, 1],
      ['update', 2, 2, 2, 3],
      ['update', 3, 3, 3, 4],
    ]);
    expect(new Set(seen.map((m) => m.id)).size).toBe(1);
    expect(seen[2]!.occurredAt).toBe(seen[0]!.occurredAt);
    expect(Date.parse(seen[2]!.lastOccurredAt) - Date.parse(seen[0]!.occurredAt)).toBe(10_000);
    expect(manager.activeIncidents()).toHaveLength(1);
  });

  it('resolves on the matching signal, and a later alarm opens a new incident', () => {
    const { manager, seen, tick, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    tick(1000);
    manager.handle({ action: 'resolve', correlationKey: key, occurredAt: at(), reason: 'device reported clear' }, device);
    expect(seen[1]).toMatchObject({ type: 'update', status: 'resolved', seq: 2, facts: { resolution: 'device reported clear' } });
    expect(seen[1]!.resolvedAt).toBeDefined();
    expect(manager.activeIncidents()).toHaveLength(0);
    tick(1000);
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    expect(seen[2]).toMatchObject({ type: 'new', seq: 3, count: 1 });
    expect(seen[2]!.id).not.toBe(seen[0]!.id);
    expect(seen[2]!.id > seen[0]!.id).toBe(true); // ULIDs sort by creation
  });

  it('ignores a resolve with nothing open, and consumes no sequence number for it', () => {
    const { manager, seen, at } = setup();
    expect(manager.handle({ action: 'resolve', correlationKey: key, occurredAt: at(), reason: 'x' }, device)).toBeUndefined();
    expect(seen).toHaveLength(0);
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    expect(seen[0]!.seq).toBe(1);
  });

  it('keeps delivering to other listeners when one throws', () => {
    let seq = 0;
    const errors: unknown[] = [];
    const manager = new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq, onListenerError: (e) => errors.push(e) });
    const got: number[] = [];
    manager.onMessage(() => {
      throw new Error('listener bug');
    });
    manager.onMessage((m) => got.push(m.seq));
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: Date.now(), facts: {} }, device);
    expect(got).toEqual([1]);
    expect(errors).toHaveLength(1);
  });

  it('reports a submitted change it could not store, instead of leaving a rejection that would end the process', async () => {
    let seq = 0;
    const failures: Array<{ err: unknown; key: string }> = [];
    const manager = new IncidentManager({
      gatewayId: 'gw',
      nextSeq: () => ++seq,
      // As the outbox answers while an HA pair's Redis is away.
      persist: () => Promise.reject(new Error('Reached the max retries per request limit')),
      onSubmitError: (err, signal) => failures.push({ err, key: signal.correlationKey }),
    });
    manager.submit({ action: 'raise', category: 'device.offline', correlationKey: key, occurredAt: Date.now(), facts: {} }, device);
    manager.submit({ action: 'resolve', correlationKey: key, occurredAt: Date.now(), reason: 'reporting again' }, device);
    await new Promise((r) => setTimeout(r, 10));
    expect(failures.map((f) => [f.key, (f.err as Error).message])).toEqual([
      [key, 'Reached the max retries per request limit'],
      [key, 'Reached the max retries per request limit'],
    ]);
  });

  it('returns the durability of each message, and folds into incidents restored after a restart', async () => {
    const persisted: number[] = [];
    let seq = 0;
    const first = new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq, persist: async (m) => void persisted.push(m.seq) });
    const durable = first.handle(
      { action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: Date.now(), facts: {} },
      device,
    );
    await durable;
    expect(persisted).toEqual([1]);
    const restarted = new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq, restore: first.activeIncidents() });
    const seen: IncidentMessage[] = [];
    restarted.onMessage((m) => seen.push(m));
    // A later occurrence (a second later: the same instant would be the same occurrence, see below).
    restarted.handle(
      { action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: Date.now() + 1000, facts: {} },
      device,
    );
    expect(seen[0]).toMatchObject({ type: 'update', count: 2, id: first.activeIncidents()[0]!.id, seq: 2 });
  });

  it('does not count an occurrence twice when the device sends it again (no PUBACK before a restart)', async () => {
    let seq = 0;
    const first = new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq, persist: async () => undefined });
    const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
    const alarm = {
      action: 'raise' as const,
      category: 'fire.smoke_alarm',
      correlationKey: key,
      occurredAt: at,
      facts: { smokeDensity: 2.5 },
    };
    await first.handle(alarm, device);
    const restarted = new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq, restore: first.activeIncidents() });
    const seen: IncidentMessage[] = [];
    restarted.onMessage((m) => seen.push(m));
    // The same message, resent by the device: the same instant, from its own clock.
    expect(restarted.handle(alarm, device)).toBeUndefined();
    expect(seen).toEqual([]);
    expect(restarted.activeIncidents()[0]).toMatchObject({ count: 1, seq: 1 });
    // The next alarm is a new occurrence and counts.
    restarted.handle({ ...alarm, occurredAt: at + 30_000 }, device);
    expect(seen[0]).toMatchObject({ count: 2, seq: 2 });
  });

  it('keeps every transition (who, when, note), who dispatched, and lets a dispatched incident be re-assigned', async () => {
    const { manager, seen, at, tick } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    const id = seen[0]!.id;
    expect(
      manager.command({ command: 'dispatch', incidentId: id, by: 'operator-7', assignee: 'Wang', note: 'check stairwell 2F' }).ok,
    ).toBe(true);
    tick(60_000);
    const again = manager.command({ command: 'dispatch', incidentId: id, by: 'operator-9', assignee: 'Li', note: 'Wang is off duty' });
    expect(again.ok).toBe(true);
    tick(60_000);
    manager.command({ command: 'resolve', incidentId: id, by: 'li', note: 'burnt toast' });
    const last = seen.at(-1)!;
    expect(last.handling).toMatchObject({ assignee: 'Li', dispatchedBy: 'operator-9', note: 'burnt toast' });
    expect(last.handling?.history?.map(({ command, by, assignee, note, from, to }) => ({ command, by, assignee, note, from, to }))).toEqual(
      [
        { command: 'dispatch', by: 'operator-7', assignee: 'Wang', note: 'check stairwell 2F', from: 'open', to: 'dispatched' },
        { command: 'dispatch', by: 'operator-9', assignee: 'Li', note: 'Wang is off duty', from: 'dispatched', to: 'dispatched' },
        { command: 'resolve', by: 'li', assignee: undefined, note: 'burnt toast', from: 'dispatched', to: 'resolved' },
      ],
    );
    expect(new Set(last.handling!.history!.map((h) => h.at)).size).toBe(3);
  });

  it('records a resolution by the device itself in the history too', () => {
    const { manager, seen, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    manager.handle({ action: 'resolve', correlationKey: key, occurredAt: at() + 5000, reason: 'smoke cleared' }, device);
    expect(seen.at(-1)!.handling?.history).toEqual([
      { command: 'resolve', at: new Date(at() + 5000).toISOString(), from: 'open', to: 'resolved', by: 'device', note: 'smoke cleared' },
    ]);
  });

  it('walks the lifecycle open → acknowledged → dispatched → resolved → closed, one message per step', async () => {
    const { manager, seen, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    const id = seen[0]!.id;
    const steps = [
      manager.command({ command: 'ack', incidentId: id, by: 'centre-operator-7' }),
      manager.command({ command: 'dispatch', incidentId: id, assignee: 'grid worker Wang (网格员)' }),
      manager.command({ command: 'resolve', incidentId: id, by: 'wang', note: 'burnt food, ventilated' }),
      manager.command({ command: 'close', incidentId: id, by: 'centre-operator-7' }),
    ];
    for (const s of steps) {
      expect(s.ok).toBe(true);
      if (s.ok) await s.durable;
    }
    expect(seen.map((m) => [m.type, m.status, m.seq])).toEqual([
      ['new', 'open', 1],
      ['update', 'acknowledged', 2],
      ['update', 'dispatched', 3],
      ['update', 'resolved', 4],
      ['end', 'closed', 5],
    ]);
    expect(seen[4]!.handling).toMatchObject({
      acknowledgedBy: 'centre-operator-7',
      assignee: 'grid worker Wang (网格员)',
      resolvedBy: 'wang',
      closedBy: 'centre-operator-7',
      note: 'burnt food, ventilated',
    });
    expect(seen[3]!.resolvedAt).toBeDefined();
    expect(manager.incident(id)).toBeUndefined(); // closed incidents are done
  });

  it('refuses a transition the status does not allow, and an unknown incident, changing nothing', () => {
    const { manager, seen, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    const id = seen[0]!.id;
    expect(manager.command({ command: 'close', incidentId: id })).toEqual({
      ok: false,
      code: 'invalid_transition',
      error: 'cannot close an incident that is open (close needs resolved)',
    });
    expect(manager.command({ command: 'dispatch', incidentId: id })).toMatchObject({ ok: false, code: 'malformed' });
    expect(manager.command({ command: 'ack', incidentId: '01M81NNWD58FJT67P00HPSJTH3' })).toMatchObject({ ok: false, code: 'not_found' });
    expect(seen).toHaveLength(1);
  });

  it('lets a device clear resolve an acknowledged incident, and the platform close it afterwards', () => {
    const { manager, seen, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    const id = seen[0]!.id;
    manager.command({ command: 'ack', incidentId: id });
    manager.handle({ action: 'resolve', correlationKey: key, occurredAt: at(), reason: 'device reported clear' }, device);
    expect(seen[2]).toMatchObject({ status: 'resolved' });
    expect(manager.command({ command: 'close', incidentId: id })).toMatchObject({ ok: true });
    expect(seen[3]).toMatchObject({ type: 'end', status: 'closed' });
  });

  it('reminds once when not acknowledged in time, escalates once past the deadline', () => {
    const { manager, seen, tick, at } = setup();
    manager.handle({ action: 'raise', category: 'fire.smoke_alarm', correlationKey: key, occurredAt: at(), facts: {} }, device);
    tick(60_000);
    expect(manager.checkDeadlines()).toEqual([]);
    tick(61_000); // past 2 minutes without an ack
    expect(manager.checkDeadlines().map((m) => m.flags)).toEqual([['reminder']]);
    expect(manager.checkDeadlines()).toEqual([]);
    tick(13 * 60_000); // past the 15-minute deadline
    const [escalated] = manager.checkDeadlines();
    expect(escalated).toMatchObject({ severity: 'critical', flags: ['reminder', 'overdue', 'escalated'] });
    expect(escalated!.handling?.escalatedAt).toBeDefined();
    expect(manager.checkDeadlines()).toEqual([]);
    expect(seen.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('does not remind about an incident already acknowledged', () => {
    const { manager, seen, tick, at } = setup();
    manager.handle(
      { action: 'raise', category: 'device.offline', correlationKey: 'device.offline:x', occurredAt: at(), facts: {} },
      device,
    );
    manager.command({ command: 'ack', incidentId: seen[0]!.id });
    tick(2 * 3600_000);
    expect(manager.checkDeadlines()).toEqual([]);
    tick(23 * 3600_000);
    expect(manager.checkDeadlines()[0]).toMatchObject({ severity: 'major', flags: ['overdue', 'escalated'] });
  });

  it('refuses a category nobody declared', () => {
    const { manager, at } = setup();
    expect(() =>
      manager.handle({ action: 'raise', category: 'made.up', correlationKey: 'k', occurredAt: at(), facts: {} }, device),
    ).toThrow(/unknown incident category 'made.up'/);
  });
});
