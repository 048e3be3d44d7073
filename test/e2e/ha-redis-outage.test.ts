/**
 * The HA pair's Redis goes away for a few seconds. Neither node crashes; an alarm sent meanwhile
 * gets no PUBACK (so the device keeps it and sends it again), health says why, and nobody leads.
 * When Redis is back, a leader takes the uplink again, the resent alarm and every alarm
 * acknowledged before are delivered, and seq stays gap-free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../gateway/incidents/schema.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { deviceSecret, pairOf } from '../helpers/ha-pair.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { expectWholeStream } from '../helpers/incident-stream.js';
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

function acked(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

describe('HA pair: the shared Redis goes away', () => {
  it('refuses alarms while it is away, crashes nothing, and delivers everything once it is back', async () => {
    const devices = ['smoke-a', 'smoke-b'];
    const pair = await pairOf({ gatewayId: 'gw-ha-out', redis: redis.url, upstream: mosquitto.url, devices: devices.map((id) => ({ id, kind: 'smoke-alarm' })) });
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
    const health = await waitFor('B to say why', async () => {
      const h = (await (await fetch(`http://127.0.0.1:${b.api}/healthz`)).json()) as { status: string; problems: string[]; cluster: { leader: boolean } };
      return h.problems.some((p) => p.includes('redis is unreachable')) ? h : undefined;
    }, 10_000);
    expect(health.status).toBe('degraded');
    await waitFor('nobody to lead', async () => (!(await pair.cluster(a))?.leader && !(await pair.cluster(b))?.leader) || undefined, 10_000);

    await redis.resume();
    await waitFor('a leader again', async () => ((await pair.cluster(a))?.leader || (await pair.cluster(b))?.leader) || undefined, 20_000);
    // The device sends its alarm again, as an unacknowledged QoS 1 message is.
    await waitFor('the resent alarm accepted', () => alarmOn('smoke-b', b.url, 1.003).then((ok) => ok || undefined), 20_000);
    expect(await alarmOn('smoke-a', a.url, 1.004)).toBe(true);
    await waitFor('every acknowledged alarm upstream', () => {
      const densities = new Set(received().map((m) => m.facts.smokeDensity));
      return [1.001, 1.002, 1.003, 1.004].every((d) => densities.has(d)) || undefined;
    }, 20_000);
    for (const n of [a, b]) expect(n.run!.pid && (await fetch(`http://127.0.0.1:${n.api}/healthz`)).ok).toBeTruthy();
    for (const n of [a, b]) n.run!.kill('SIGTERM');
    for (const n of [a, b]) expect(await n.run!.code).toBe(0);
    expectWholeStream(received().map(assertIncident));
    await platform.close();
  }, 120_000);
});
