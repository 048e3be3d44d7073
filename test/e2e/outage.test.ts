/**
 * The uplink goes away under load and comes back: every incident is delivered afterwards, in
 * order. And when an outage outlasts the outbox's bound, the documented policy applies (lowest
 * lane, oldest first), and the platform learns of it from the gap in seq and the status.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import type { GatewayStatus } from '../../contracts/topics.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { freePort, startMosquitto, waitFor } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function gatewayFor(
  upstreamUrl: string,
  devices: number,
  outbox?: { maxBytes: number },
): Promise<{ gateway: Gateway; brokerUrl: string }> {
  const dataDir = await tempDir('outage');
  const gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-out', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0, maxPublishPerSecond: 100_000, publishBurst: 100_000 }, // a load test, not a device
        api: { port: 0 },
        upstream: { url: upstreamUrl },
        ...(outbox ? { outbox } : {}),
        devices: Array.from({ length: devices }, (_, i) => ({ id: `smoke-${i}`, kind: 'smoke-alarm', secret: `secret-of-${i}` })),
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  const ports = await gateway.start();
  cleanups.push(() => gateway.stop());
  return { gateway, brokerUrl: `mqtt://127.0.0.1:${ports.broker}` };
}

async function fleet(brokerUrl: string, n: number): Promise<SimulatedSmokeAlarm[]> {
  const alarms = Array.from(
    { length: n },
    (_, i) => new SimulatedSmokeAlarm({ url: brokerUrl, id: `smoke-${i}`, secret: `secret-of-${i}` }),
  );
  await Promise.all(alarms.map((a) => a.connect()));
  cleanups.push(() => Promise.all(alarms.map((a) => a.disconnect())));
  return alarms;
}

// npm run test:reliability makes the outages minutes long (GRIDEDGE_OUTAGE_SECONDS), at a gentler pace.
const OUTAGE_MS = Number(process.env.GRIDEDGE_OUTAGE_SECONDS ?? 2.5) * 1000;
const PACE_MS = OUTAGE_MS > 10_000 ? 200 : 5;

describe('uplink outage', () => {
  it(
    'delivers every incident raised while the upstream broker was down, in seq order',
    async () => {
      const mosquitto = await startMosquitto({ persistent: true });
      cleanups.push(() => mosquitto.stop());
      const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-out/incident', undefined, 'platform-outage');
      cleanups.push(() => platform.close());
      const { gateway, brokerUrl } = await gatewayFor(mosquitto.url, 5);
      await waitFor('uplink up', () => gateway.uplink?.connected || undefined);
      const alarms = await fleet(brokerUrl, 5);

      const densities: number[] = [];
      let n = 0;
      let running = true;
      const load = alarms.map(async (a) => {
        while (running) {
          const d = 1 + ++n / 10_000;
          await a.alarm(d);
          densities.push(d);
          await a.clear();
          await new Promise((r) => setTimeout(r, PACE_MS));
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      await mosquitto.pause();
      await waitFor('uplink noticed', () => !gateway.uplink?.connected || undefined);
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const backlog = gateway.outbox.stats().pending;
      await mosquitto.resume();
      await new Promise((r) => setTimeout(r, 500));
      running = false;
      await Promise.all(load);

      await waitFor('outbox drained', () => gateway.outbox.stats().pending === 0 || undefined, 20_000 + OUTAGE_MS);
      const received = await waitFor(
        'every alarm upstream',
        () => {
          const all = platform.json<IncidentMessage>('/incident');
          const seen = new Set(all.map((m) => m.facts.smokeDensity));
          return densities.every((d) => seen.has(d)) ? all : undefined;
        },
        20_000 + OUTAGE_MS,
      );
      expect(backlog).toBeGreaterThan(50); // the outage really held messages back
      const firstSeen: number[] = [];
      const seen = new Set<number>();
      for (const m of received.map(assertIncident)) {
        if (seen.has(m.seq)) continue;
        seen.add(m.seq);
        firstSeen.push(m.seq);
      }
      expect(firstSeen).toEqual(Array.from({ length: firstSeen.length }, (_, i) => i + 1)); // gap-free and in order
    },
    60_000 + 3 * OUTAGE_MS,
  );
});

describe('outbox full', () => {
  it('drops oldest first beyond its bound, counts it, and reports it upstream once the link returns', async () => {
    const port = await freePort(); // nothing listens here yet: the uplink stays down
    const { gateway, brokerUrl } = await gatewayFor(`mqtt://127.0.0.1:${port}`, 1, { maxBytes: 65_536 });
    const [alarm] = await fleet(brokerUrl, 1);
    for (let i = 0; i < 100; i++) {
      await alarm!.alarm(1 + i / 1000);
      await alarm!.clear();
    }
    const stats = gateway.outbox.stats();
    expect(stats.pendingBytes).toBeLessThanOrEqual(65_536);
    expect(stats.dropped.full).toBeGreaterThan(0);
    expect(stats.pending + stats.dropped.full).toBe(200);
    expect(gateway.counters.get('outbox_dropped_total', { lane: '0', reason: 'full' })).toBe(stats.dropped.full);
    expect(gateway.health()).toMatchObject({ status: 'degraded', outbox: { dropped: stats.dropped.full } });
    expect(gateway.health().problems).toContain(`${stats.dropped.full} incident messages dropped from the outbox`);

    const mosquitto = await startMosquitto({ port });
    cleanups.push(() => mosquitto.stop());
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-out/#');
    cleanups.push(() => platform.close());
    const status = await platform.waitFor<GatewayStatus>('status with the drops', '/status', (s) => s.state === 'online', 15_000);
    expect(status.outbox?.dropped.full).toBe(stats.dropped.full);
    await waitFor(
      'backlog delivered',
      () => (platform.json<IncidentMessage>('/incident').length >= stats.pending ? true : undefined),
      15_000,
    );
    const seqs = platform.json<IncidentMessage>('/incident').map((m) => m.seq);
    // The oldest were dropped: what arrives is the newest, ending at the last seq, with the gap at the start.
    expect(seqs).toEqual(Array.from({ length: stats.pending }, (_, i) => 200 - stats.pending + 1 + i));
  }, 60_000);
});
