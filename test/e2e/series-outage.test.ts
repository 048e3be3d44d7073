/**
 * The series server goes down under load and comes back: readings it refused wait in the
 * spool and are replayed on their own, so every reading ends up stored.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import { createLogger } from '../../core/log.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { startVictoriaMetrics, waitFor, type VictoriaMetrics } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

let vm: VictoriaMetrics;
let gateway: Gateway;
let dataDir: string;
const alarms: SimulatedSmokeAlarm[] = [];

beforeAll(async () => {
  vm = await startVictoriaMetrics();
  dataDir = await tempDir('series-outage');
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-series', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0, maxPublishPerSecond: 100_000, publishBurst: 100_000 }, // a load test, not a device
        api: { port: 0 },
        influx: {
          url: vm.url,
          token: 't',
          org: 'o',
          bucket: 'b',
          flushIntervalMs: 50,
          batchSize: 200,
          maxRetries: 0,
          replayIntervalMs: 300,
        },
        devices: [0, 1, 2].map((i) => ({ id: `smoke-${i}`, kind: 'smoke-alarm', secret: `secret-of-${i}` })),
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  const ports = await gateway.start();
  for (const i of [0, 1, 2]) {
    const a = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${ports.broker}`, id: `smoke-${i}`, secret: `secret-of-${i}` });
    await a.connect();
    alarms.push(a);
  }
});

afterAll(async () => {
  await Promise.all(alarms.map((a) => a.disconnect()));
  await gateway?.stop();
  await vm?.stop();
});

// npm run test:reliability makes the outage minutes long (GRIDEDGE_OUTAGE_SECONDS), at a gentler pace.
const OUTAGE_MS = Number(process.env.GRIDEDGE_OUTAGE_SECONDS ?? 1.5) * 1000;
const PACE_MS = OUTAGE_MS > 10_000 ? 50 : 3;

describe('series server outage', () => {
  it(
    'spools what the server refuses and replays it when the server returns: every reading stored',
    async () => {
      const sent = new Map<string, number[]>();
      let n = 0;
      let running = true;
      const load = alarms.map(async (a) => {
        const mine: number[] = [];
        sent.set(a.id, mine);
        while (running) {
          a.battery = ++n / 100 + 0.01; // unique per reading; telemetry() takes 0.01 off
          await a.telemetry();
          mine.push(a.battery);
          await new Promise((r) => setTimeout(r, PACE_MS));
        }
      });
      await new Promise((r) => setTimeout(r, 400));
      await vm.pause();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await waitFor('readings spooled', () =>
        gateway.counters.total('messages_in_total') > 0 && gateway.spool.stats().written > 0 ? true : undefined,
      );
      await vm.resume();
      await new Promise((r) => setTimeout(r, 400));
      running = false;
      await Promise.all(load);
      const total = [...sent.values()].reduce((s, v) => s + v.length, 0);

      const stored = await waitFor(
        'every reading stored',
        async () => {
          const series = await vm.exportSeries('smoke_alarm_battery');
          const count = series.reduce((s, x) => s + x.values.length, 0);
          return count >= total ? series : undefined;
        },
        30_000 + OUTAGE_MS,
      );
      for (const [device, values] of sent) {
        const s = stored.find((x) => x.metric.device === device);
        expect([...(s?.values ?? [])].sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
      }
      expect(gateway.spool.stats().written).toBeGreaterThan(0); // the outage really went through the spool
      expect(gateway.counters.get('series_replayed_lines_total')).toBe(gateway.spool.stats().written);
      await waitFor(
        'spool emptied',
        async () => ((await readdir(path.join(dataDir, 'spool'))).length === 0 ? true : undefined),
        5000 + OUTAGE_MS / 10,
      );
    },
    60_000 + 3 * OUTAGE_MS,
  );
});
