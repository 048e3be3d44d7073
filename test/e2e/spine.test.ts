/**
 * The spine end to end with real parts at both ends: simulated smoke alarms over MQTT into the
 * embedded broker, incidents on a real mosquitto (standing in for the central platform, with
 * credentials), readings in a real InfluxDB-compatible server (victoria-metrics).
 */
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import type { GatewayStatus } from '../../contracts/topics.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { tempDir } from '../helpers/tmp.js';
import { startMosquitto, startVictoriaMetrics, waitFor, type Mosquitto, type VictoriaMetrics } from '../helpers/servers.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

const SECRETS = {
  'smoke-01': 'device-secret-one-1',
  'smoke-02': 'device-secret-two-2',
  upstream: 'platform-password-xyz',
  influx: 'influx-token-abc-123',
};
const GATEWAY_GRID = '110105001002000';
const CELL = '110105001002001';

let mosquitto: Mosquitto;
let vm: VictoriaMetrics;
let gateway: Gateway;
let platform: UpstreamSubscriber;
let brokerUrl: string;
let apiUrl: string;
let logText = '';
const alarms: SimulatedSmokeAlarm[] = [];

function device(id: 'smoke-01' | 'smoke-02'): SimulatedSmokeAlarm {
  const d = new SimulatedSmokeAlarm({ url: brokerUrl, id, secret: SECRETS[id] });
  alarms.push(d);
  return d;
}

beforeAll(async () => {
  [mosquitto, vm] = await Promise.all([
    startMosquitto({ users: { 'gw-e2e': SECRETS.upstream, platform: 'platform-pw' } }),
    startVictoriaMetrics(),
  ]);
  const dataDir = await tempDir('e2e');
  const config = resolveConfig(
    {
      gateway: { id: 'gw-e2e', grid: GATEWAY_GRID, dataDir, logLevel: 'trace' },
      broker: { host: '127.0.0.1', port: 0 },
      api: { host: '127.0.0.1', port: 0 },
      upstream: { url: mosquitto.url, username: 'gw-e2e' },
      influx: { url: vm.url, org: 'gridedge', bucket: 'e2e', flushIntervalMs: 50 },
      devices: [
        { id: 'smoke-01', kind: 'smoke-alarm', grid: CELL, name: 'Building 1 stairwell', location: { lat: 39.92, lon: 116.44 } },
        { id: 'smoke-02', kind: 'smoke-alarm', grid: CELL },
      ],
    },
    'e2e',
    dataDir,
    {
      GRIDEDGE_DEVICE_SECRET_SMOKE_01: SECRETS['smoke-01'],
      GRIDEDGE_DEVICE_SECRET_SMOKE_02: SECRETS['smoke-02'],
      GRIDEDGE_UPSTREAM_PASSWORD: SECRETS.upstream,
      GRIDEDGE_INFLUX_TOKEN: SECRETS.influx,
    },
  );
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString();
      done();
    },
  });
  gateway = new Gateway(config, createLogger('trace', sink));
  platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/#', { username: 'platform', password: 'platform-pw' });
  const ports = await gateway.start();
  brokerUrl = `mqtt://127.0.0.1:${ports.broker}`;
  apiUrl = `http://127.0.0.1:${ports.api}`;
  await waitFor('uplink connected', () => gateway.uplink?.connected || undefined);
});

afterAll(async () => {
  await Promise.all(alarms.map((a) => a.disconnect().catch(() => undefined)));
  await gateway?.stop();
  await platform?.close();
  await mosquitto?.stop();
  await vm?.stop();
});

describe('spine: smoke alarm → gateway → platform and series server', () => {
  it('announces the gateway online with a retained status on the upstream broker', async () => {
    const status = await platform.waitFor<GatewayStatus>('online status', '/status', (s) => s.state === 'online');
    expect(status).toMatchObject({ schema: 'gridedge.status/v1', gatewayId: 'gw-e2e', grid: GATEWAY_GRID });
    expect(platform.messages.find((m) => m.topic.endsWith('/status'))?.topic).toBe(`gridedge/v1/${GATEWAY_GRID}/gw-e2e/status`);
    // A platform that subscribes later still learns the state: it is retained.
    const late = await UpstreamSubscriber.connect(mosquitto.url, `gridedge/v1/${GATEWAY_GRID}/gw-e2e/status`, {
      username: 'platform',
      password: 'platform-pw',
    });
    const retained = await waitFor('retained status', () => late.messages.find((m) => m.retain));
    expect(JSON.parse(retained.payload)).toMatchObject({ state: 'online' });
    await late.close();
  });

  it('raises fire.smoke_alarm on alarm, folds the repeat, resolves on clear: schema-valid, right topic and cell', async () => {
    const alarm = device('smoke-01');
    await alarm.connect();
    await alarm.alarm(2.5);
    const first = assertIncident(
      await platform.waitFor<IncidentMessage>('new incident', '/incident', (m) => m.type === 'new' && m.devices[0]?.id === 'smoke-01'),
    );
    await alarm.alarm(3.5);
    const folded = assertIncident(
      await platform.waitFor<IncidentMessage>('folded update', '/incident', (m) => m.id === first.id && m.count === 2),
    );
    await alarm.clear();
    const resolved = assertIncident(
      await platform.waitFor<IncidentMessage>('resolved update', '/incident', (m) => m.id === first.id && m.status === 'resolved'),
    );

    expect(platform.messages.find((m) => m.topic.endsWith('/incident'))?.topic).toBe(`gridedge/v1/${GATEWAY_GRID}/gw-e2e/incident`);
    expect(first).toMatchObject({
      category: 'fire.smoke_alarm',
      severity: 'critical',
      status: 'open',
      grid: CELL,
      gatewayId: 'gw-e2e',
      count: 1,
      facts: { smokeDensity: 2.5 },
    });
    expect(first.location).toEqual({ lat: 39.92, lon: 116.44, name: 'Building 1 stairwell' });
    expect(folded).toMatchObject({ type: 'update', status: 'open', facts: { smokeDensity: 3.5 }, seq: first.seq + 1 });
    expect(resolved).toMatchObject({ type: 'update', count: 2, seq: first.seq + 2 });
    const all = platform.json<IncidentMessage>('/incident').filter((m) => m.id === first.id);
    expect(all).toHaveLength(3);
  });

  it('writes every telemetry reading to the series server with grid, device and kind tags', async () => {
    const alarm = device('smoke-02');
    await alarm.connect();
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      alarm.battery = 90 - i;
      await alarm.telemetry();
      sent.push(alarm.battery);
    }
    const series = await waitFor('battery points', async () => {
      const s = await vm.exportSeries('smoke_alarm_battery');
      const mine = s.find((x) => x.metric.device === 'smoke-02');
      return mine && mine.values.length >= 5 ? mine : undefined;
    });
    expect(series.metric).toEqual({ __name__: 'smoke_alarm_battery', device: 'smoke-02', grid: CELL, kind: 'smoke-alarm' });
    // Readings sent within the same millisecond share a timestamp, so compare them as a set.
    expect([...series.values].sort()).toEqual([...sent].sort());
    const density = (await vm.exportSeries('smoke_alarm_smoke_density')).find((x) => x.metric.device === 'smoke-02');
    expect(density?.values).toHaveLength(5);
  });

  it('rejects bad input with a counted, logged reason and keeps serving', async () => {
    const noisy = device('smoke-02');
    await noisy.connect();
    const before = gateway.counters.total('messages_rejected_total');
    await noisy.publish('dev/smoke-02/telemetry', '{"battery": 50, "smokeDensity": ');
    await noisy.publish('dev/smoke-02/telemetry', JSON.stringify({ battery: 'full', smokeDensity: 0 }));
    await noisy.publish('dev/smoke-02/event', Buffer.from([0, 1, 2, 255]));
    expect(gateway.counters.get('messages_rejected_total', { kind: 'smoke-alarm', reason: 'malformed_json' })).toBe(2);
    expect(gateway.counters.get('messages_rejected_total', { kind: 'smoke-alarm', reason: 'schema' })).toBe(1);
    expect(gateway.counters.total('messages_rejected_total') - before).toBe(3);
    const kept = gateway.rejections.latest(3, 'smoke-02');
    expect(kept.map((r) => r.reason)).toEqual(['malformed_json', 'schema', 'malformed_json']);
    expect(kept[1]!.detail).toMatch(/battery: "full"/);
    expect(Buffer.from(kept[0]!.payloadHead, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(logText).toMatch(/device message rejected/);

    // Wrong password and an unknown device are refused at the door.
    for (const [username, password] of [
      ['smoke-01', 'wrong-password'],
      ['nobody', 'some-password'],
    ]) {
      const c = mqtt.connect(brokerUrl, { clientId: username, username, password, reconnectPeriod: 0 });
      const err = await new Promise<Error & { code?: number }>((resolve) => c.once('error', resolve));
      expect(err.code).toBe(4);
      c.end(true);
    }
    expect(gateway.counters.get('broker_auth_refused_total', { reason: 'bad_password' })).toBe(1);
    expect(gateway.counters.get('broker_auth_refused_total', { reason: 'unknown_device' })).toBe(1);

    // Publishing as another device closes the offender.
    const closed = noisy.closed();
    void noisy.publish('dev/smoke-01/event', JSON.stringify({ event: 'alarm' })).catch(() => undefined);
    await closed;
    expect(gateway.counters.get('broker_publish_denied_total')).toBe(1);

    // ...and the gateway still serves the others.
    const good = device('smoke-01');
    await good.connect();
    await good.alarm(4);
    const m = await platform.waitFor<IncidentMessage>(
      'incident after bad input',
      '/incident',
      (x) => x.type === 'new' && x.facts.smokeDensity === 4,
    );
    assertIncident(m);
    await good.clear();
  });

  it('answers /healthz with the state of each stage', async () => {
    const res = await fetch(`${apiUrl}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'ok',
      gatewayId: 'gw-e2e',
      grid: GATEWAY_GRID,
      uplink: { configured: true, connected: true },
      series: { sink: 'influx' },
    });
  });

  it('keeps every secret out of the logs, even at trace level', () => {
    expect(logText.length).toBeGreaterThan(1000);
    for (const secret of Object.values(SECRETS)) expect(logText).not.toContain(secret);
  });
});

describe('spine: shutdown', () => {
  it('leaves a retained offline status upstream when the gateway stops', async () => {
    await gateway.stop();
    const offline = await platform.waitFor<GatewayStatus>('offline status', '/status', (s) => s.state === 'offline');
    expect(offline.gatewayId).toBe('gw-e2e');
    gateway = undefined as unknown as Gateway;
  });
});
