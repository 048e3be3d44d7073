/**
 * Nothing lost: the gateway process is killed with SIGKILL at random moments while a simulated
 * fleet raises alarms, ten times over, then started once more. Every alarm a device got a PUBACK
 * for must reach the platform; seq must be gap-free; a seq seen twice must be the same message.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { gridedge, type Run } from '../helpers/cli.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { acked, expectWholeStream, waitForEveryAlarm } from '../helpers/incident-stream.js';
import { canConnect, freePort, startMosquitto, waitFor, type Mosquitto } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

const DEVICES = 8;
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 10);

let mosquitto: Mosquitto;
beforeAll(async () => {
  mosquitto = await startMosquitto();
});
afterAll(async () => {
  await mosquitto?.stop();
});

describe('crash safety', () => {
  it(`loses no acknowledged alarm across ${ROUNDS} kill -9s; seq gap-free, ids stable`, async () => {
    const dir = await tempDir('crash');
    const brokerPort = await freePort();
    const apiPort = await freePort();
    const file = path.join(dir, 'gw.yaml');
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: `smoke-${i}`, secret: `secret-of-smoke-${i}` }));
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-crash',
        '  grid: "110105001002000"',
        '  dataDir: ./data',
        '  logLevel: warn',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        '  maxPublishPerSecond: 100000',
        '  publishBurst: 100000', // a load test, not a device
        'api:',
        `  port: ${apiPort}`,
        'upstream:',
        `  url: ${mosquitto.url}`,
        'devices:',
        ...devices.flatMap((d) => [`  - id: ${d.id}`, '    kind: smoke-alarm', `    secret: ${d.secret}`]),
      ].join('\n'),
    );
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-crash/incident');

    const ackedDensities: number[] = [];
    let counter = 0;
    const start = async (): Promise<Run> => {
      // Killed by the test, never by the helper's 60 s guard: the last life drains thousands of messages.
      const run = gridedge(['start', '--config', file], {}, 280_000);
      await waitFor('gateway broker up', () => canConnect(brokerPort).then((ok) => ok || undefined), 15_000);
      return run;
    };

    for (let round = 0; round < ROUNDS; round++) {
      const run = await start();
      const fleet = devices.map((d) => new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${brokerPort}`, id: d.id, secret: d.secret }));
      await Promise.all(fleet.map((f) => f.connect().catch(() => undefined)));
      let running = true;
      const loops = fleet.map(async (alarm) => {
        while (running && alarm.connected) {
          // A unique density per alarm lets us find each acknowledged alarm among the incidents.
          const density = 1 + ++counter / 10_000;
          if (await acked(alarm.alarm(density))) ackedDensities.push(density);
          else break;
          if (!(await acked(alarm.clear()))) break;
        }
      });
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 600)));
      run.kill('SIGKILL');
      await run.code;
      running = false;
      await Promise.all(loops);
      for (const f of fleet) f.kill();
    }

    // One last life, to drain the outbox.
    const last = await start();
    const received = () => platform.json<IncidentMessage>('/incident');
    await waitForEveryAlarm(
      received,
      ackedDensities,
      30_000,
      () => `data in ${dir}; gateway said: ${last.stderr().slice(-2000)} ${last.stdout().slice(-3000)}`,
    );
    // Generous: CI runs this beside the camera tests (ffmpeg and GStreamer on the same two cores).
    let lastHealth: unknown;
    await waitFor(
      'the outbox drained',
      async () => {
        const res = await fetch(`http://127.0.0.1:${apiPort}/healthz`).catch(() => undefined);
        const health = res?.ok ? ((await res.json()) as { outbox: { pending: number } }) : undefined;
        lastHealth = health ?? lastHealth;
        return health?.outbox.pending === 0 || undefined;
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last health: ${JSON.stringify(lastHealth)}; gateway said: ${last.stderr().slice(-2000)}`);
    });
    last.kill('SIGTERM');
    expect(await last.code).toBe(0);

    const final = received().map(assertIncident);
    const bySeq = expectWholeStream(final);
    const maxSeq = bySeq.size;
    // First deliveries arrive in seq order (one lane here).
    const firstSeen: number[] = [];
    const seenSeq = new Set<number>();
    for (const m of final) {
      if (seenSeq.has(m.seq)) continue;
      seenSeq.add(m.seq);
      firstSeen.push(m.seq);
    }
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    expect(ackedDensities.length).toBeGreaterThan(ROUNDS * 5);
    console.log(
      `crash test: ${ROUNDS} kills, ${ackedDensities.length} acknowledged alarms, ${maxSeq} incident messages, ` +
        `${final.length - maxSeq} duplicates`,
    );
    await platform.close();
  }, 300_000);
});
