/**
 * The HA pair: two gateway processes share one Redis (Debian's redis-server, AOF with fsync on
 * every write). Alarms flow into both under load; node A (the leader, holding the uplink) is
 * killed with SIGKILL; its devices reconnect to node B, which takes the lease and the uplink.
 * Every acknowledged alarm must reach the platform, seq stays one gap-free sequence, an incident
 * open before the kill folds its repeat on B under the same id, and a gas sensor's hysteresis
 * state follows it to B. Then the shared Redis itself goes away for a while: neither node
 * crashes, an alarm sent meanwhile gets no PUBACK (the device keeps it), health says why and
 * nobody leads; once it is back a leader takes the uplink again and everything is delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { SimulatedGasSensor } from '../../sim/gas-sensor.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { deviceSecret, pairOf } from '../helpers/ha-pair.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { acked, expectWholeStream, waitForEveryAlarm } from '../helpers/incident-stream.js';
import { startMosquitto, startRedis, waitFor, type Mosquitto, type RedisServer } from '../helpers/servers.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

let mosquitto: Mosquitto;
let redis: RedisServer;
beforeAll(async () => {
  [mosquitto, redis] = await Promise.all([startMosquitto(), startRedis()]);
});
afterAll(async () => {
  await Promise.all([mosquitto?.stop(), redis?.stop()]);
});

const LOOPING = 8;

describe('HA pair over Redis', () => {
  it('loses no acknowledged alarm and raises none twice when the leader is killed under load', async () => {
    const looping = Array.from({ length: LOOPING }, (_, i) => `smoke-${i}`);
    const held = ['smoke-held-a', 'smoke-held-b'];
    const pair = await pairOf({
      gatewayId: 'gw-ha',
      redis: redis.url,
      upstream: mosquitto.url,
      devices: [
        ...[...looping, ...held, 'smoke-stay', 'smoke-gone'].map((id) => ({ id, kind: 'smoke-alarm' })),
        { id: 'gas-1', kind: 'gas-sensor' },
      ],
    });
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-ha/incident');
    const received = () => platform.json<IncidentMessage>('/incident');
    const { a, b, start, cluster } = pair;
    const runA = await start(a);
    await new Promise((r) => setTimeout(r, 500)); // A takes the lease first
    const runB = await start(b);
    expect(await cluster(a)).toEqual({ node: 'a', leader: true });
    expect(await cluster(b)).toEqual({ node: 'b', leader: false });

    /** Each held alarm sounds once through `node` and is left sounding (no clear). */
    const soundHeld = async (node: typeof a, density: number) => {
      for (const id of held) {
        const alarm = new SimulatedSmokeAlarm({ url: node.url, id, secret: deviceSecret(id) });
        await alarm.connect();
        await alarm.alarm(density);
        alarm.kill();
      }
    };
    // Before the kill: alarms held open on A, and a gas leak at alarm level seen by A.
    await soundHeld(a, 3.3);
    const gasOnA = new SimulatedGasSensor({ url: a.url, id: 'gas-1', secret: deviceSecret('gas-1') });
    await gasOnA.connect();
    await gasOnA.report(50);
    await platform.waitFor('the gas leak upstream', '/incident', (m: IncidentMessage) => m.category === 'gas.leak', 15_000);

    // Two devices sit on A when it dies: one comes back on B and stays, one never comes back.
    const stayOnA = new SimulatedSmokeAlarm({ url: a.url, id: 'smoke-stay', secret: deviceSecret('smoke-stay') });
    const goneOnA = new SimulatedSmokeAlarm({ url: a.url, id: 'smoke-gone', secret: deviceSecret('smoke-gone') });
    await Promise.all([stayOnA.connect(), goneOnA.connect()]);

    // Load on both nodes: half the fleet on each, alarm/clear cycles with a unique density each.
    const ackedDensities: number[] = [];
    let counter = 0;
    let running = true;
    const loop = async (id: string, node: typeof a): Promise<void> => {
      const alarm = new SimulatedSmokeAlarm({ url: node.url, id, secret: deviceSecret(id) });
      try {
        await alarm.connect();
      } catch {
        return;
      }
      while (running && alarm.connected) {
        const density = 1 + ++counter / 10_000;
        if (await acked(alarm.alarm(density))) ackedDensities.push(density);
        else break;
        if (!(await acked(alarm.clear()))) break;
      }
      alarm.kill();
    };
    const firstHalf = looping.map((id, i) => loop(id, i % 2 ? b : a));
    await new Promise((r) => setTimeout(r, 1500 + Math.floor(Math.random() * 1000)));
    runA.kill('SIGKILL');
    await runA.code;
    gasOnA.kill();
    stayOnA.kill();
    goneOnA.kill();
    const killedAt = Date.now();
    const stayOnB = new SimulatedSmokeAlarm({ url: b.url, id: 'smoke-stay', secret: deviceSecret('smoke-stay') });
    await stayOnB.connect();
    void waitFor('B to take the lead', async () => (await cluster(b))?.leader || undefined, 15_000).then(() =>
      console.log(`B led ${Date.now() - killedAt} ms after the kill (lease 2 s)`),
    );
    // A's devices come back on B (field devices hold both addresses); B's never left.
    const secondHalf = looping.filter((_, i) => i % 2 === 0).map((id) => loop(id, b));
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await Promise.all([...firstHalf, ...secondHalf]);

    // The held alarms repeat on B, and the gas sensor reports the same level there, then clears.
    await soundHeld(b, 3.4);
    const gasOnB = new SimulatedGasSensor({ url: b.url, id: 'gas-1', secret: deviceSecret('gas-1') });
    await gasOnB.connect();
    await gasOnB.report(50);
    await gasOnB.report(2);
    gasOnB.kill();

    await waitForEveryAlarm(received, ackedDensities, 30_000, () => `node B said: ${runB.stderr().slice(-3000)}`);
    await waitFor(
      'the held alarms folded and the leak resolved on B',
      () => {
        const all = received();
        const folded = held.every((id) => all.some((m) => m.correlationKey === `fire.smoke_alarm:${id}` && m.count === 2));
        const resolved = all.some((m) => m.category === 'gas.leak' && m.status === 'resolved');
        return (folded && resolved) || undefined;
      },
      20_000,
    );
    expect(await cluster(b)).toEqual({ node: 'b', leader: true });
    // A's devices' Wills, once A has been silent three heartbeats: the one that never came back is
    // said offline by B; the stale one of the device connected to B again is dropped, so it stays online.
    await waitFor(
      'B to publish the Will of the device that did not come back',
      async () => (await pair.device(b, 'smoke-gone')).lastSeen || undefined,
      30_000,
    );
    expect(await pair.device(b, 'smoke-gone')).toMatchObject({ online: false });
    expect(Date.now() - killedAt).toBeGreaterThan(3000);
    expect(await pair.device(b, 'smoke-stay')).toMatchObject({ online: true });
    stayOnB.kill();
    await waitFor(
      "B's outbox drained",
      async () => {
        const res = await fetch(`http://127.0.0.1:${b.api}/healthz`).catch(() => undefined);
        return (res?.ok && ((await res.json()) as { outbox: { pending: number } }).outbox.pending === 0) || undefined;
      },
      30_000,
    );
    runB.kill('SIGTERM');
    expect(await runB.code).toBe(0);

    const final = received().map(assertIncident);
    const bySeq = expectWholeStream(final);
    const maxSeq = bySeq.size;
    // The held alarms kept their incident's id across the kill.
    for (const id of held) {
      const ids = new Set([...bySeq.values()].filter((m) => m.correlationKey === `fire.smoke_alarm:${id}`).map((m) => m.id));
      expect(ids.size).toBe(1);
    }
    // The gas sensor's level came with it: the same level on B raised nothing again, and its fall resolved the leak.
    const leak = [...bySeq.values()].filter((m) => m.category === 'gas.leak');
    expect(new Set(leak.map((m) => m.id)).size).toBe(1);
    expect(Math.max(...leak.map((m) => m.count))).toBe(1);
    expect(ackedDensities.length).toBeGreaterThan(20);
    console.log(
      `HA pair: leader killed under load; ${ackedDensities.length} acknowledged alarms, ${maxSeq} incident messages, ` +
        `${final.length - maxSeq} duplicates, all delivered by the survivor`,
    );
    await platform.close();
  }, 180_000);

  it('refuses alarms while the shared Redis is away, crashes nothing, and delivers everything once it is back', async () => {
    const devices = ['smoke-a', 'smoke-b'];
    // One Redis database per pair, as in the field: this pair is not the first test's.
    const pair = await pairOf({
      gatewayId: 'gw-ha-out',
      redis: `${redis.url}/1`,
      upstream: mosquitto.url,
      devices: devices.map((id) => ({ id, kind: 'smoke-alarm' })),
    });
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-ha-out/incident');
    const received = () => platform.json<IncidentMessage>('/incident');
    const { a, b } = pair;
    await pair.start(a);
    await pair.start(b);
    const alarmOn = async (id: string, url: string, density: number, ms = 5000) => {
      const alarm = new SimulatedSmokeAlarm({ url, id, secret: deviceSecret(id), connectTimeoutMs: 3000 });
      try {
        await alarm.connect();
        const ok = await acked(alarm.alarm(density), ms);
        if (ok) await acked(alarm.clear(), ms);
        return ok;
      } catch {
        return false;
      } finally {
        alarm.kill();
      }
    };
    expect(await alarmOn('smoke-a', a.url, 1.001)).toBe(true);
    expect(await alarmOn('smoke-b', b.url, 1.002)).toBe(true);
    await platform.waitFor('both alarms', '/incident', (m: IncidentMessage) => m.facts.smokeDensity === 1.002, 10_000);

    await redis.pause();
    // Already connected devices publish into a node that cannot store the incident: no PUBACK.
    expect(await alarmOn('smoke-b', b.url, 1.003, 3000)).toBe(false);
    const health = await waitFor(
      'B to say why',
      async () => {
        const h = (await (await fetch(`http://127.0.0.1:${b.api}/healthz`)).json()) as {
          status: string;
          problems: string[];
          cluster: { leader: boolean };
        };
        return h.problems.some((p) => p.includes('redis is unreachable')) ? h : undefined;
      },
      10_000,
    );
    expect(health.status).toBe('degraded');
    await waitFor(
      'nobody to lead',
      async () => (!(await pair.cluster(a))?.leader && !(await pair.cluster(b))?.leader) || undefined,
      10_000,
    );

    await redis.resume();
    await waitFor('a leader again', async () => (await pair.cluster(a))?.leader || (await pair.cluster(b))?.leader || undefined, 20_000);
    // The device sends its alarm again, as an unacknowledged QoS 1 message is.
    await waitFor('the resent alarm accepted', () => alarmOn('smoke-b', b.url, 1.003).then((ok) => ok || undefined), 20_000);
    expect(await alarmOn('smoke-a', a.url, 1.004)).toBe(true);
    await waitFor(
      'every acknowledged alarm upstream',
      () => {
        const densities = new Set(received().map((m) => m.facts.smokeDensity));
        return [1.001, 1.002, 1.003, 1.004].every((d) => densities.has(d)) || undefined;
      },
      20_000,
    );
    for (const n of [a, b]) expect(n.run!.pid && (await fetch(`http://127.0.0.1:${n.api}/healthz`)).ok).toBeTruthy();
    for (const n of [a, b]) n.run!.kill('SIGTERM');
    for (const n of [a, b]) expect(await n.run!.code).toBe(0);
    expectWholeStream(received().map(assertIncident));
    await platform.close();
  }, 120_000);
});
