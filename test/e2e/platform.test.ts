/**
 * Many gateways, one platform: the uplink over TLS (a certificate made here), MQTT 5, and a
 * platform that scales its consumers with a shared subscription, splitting incidents between
 * them with none lost and none delivered twice.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { makeCerts } from '../helpers/certs.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { startMosquitto, waitFor } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function gateway(id: string, upstream: Record<string, unknown>): Promise<{ gw: Gateway; alarm: SimulatedSmokeAlarm }> {
  const dataDir = await tempDir('platform');
  const gw = new Gateway(
    resolveConfig(
      {
        gateway: { id, grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { port: 0 },
        upstream,
        devices: [{ id: 'smoke-1', kind: 'smoke-alarm', secret: 'smoke-secret-1' }],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  const ports = await gw.start();
  cleanups.push(() => gw.stop());
  const alarm = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${ports.broker}`, id: 'smoke-1', secret: 'smoke-secret-1' });
  await alarm.connect();
  cleanups.push(() => alarm.disconnect());
  return { gw, alarm };
}

describe('uplink to the platform', () => {
  it('publishes over TLS to a broker whose certificate the configured CA signed, and refuses one it cannot verify', async () => {
    const dir = await tempDir('tls');
    const certs = makeCerts(dir);
    const broker = await startMosquitto({ tls: { cafile: certs.ca, certfile: certs.cert, keyfile: certs.key } });
    cleanups.push(() => broker.stop());
    expect(broker.url).toMatch(/^mqtts:/);
    const platform = await mqtt.connectAsync(broker.url, { ca: readFileSync(certs.ca) });
    cleanups.push(() => platform.endAsync(true));
    const got: IncidentMessage[] = [];
    platform.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as IncidentMessage));
    await platform.subscribeAsync('gridedge/v1/+/+/incident', { qos: 1 });

    const trusted = await gateway('gw-tls', { url: broker.url, ca: certs.ca });
    await waitFor('TLS uplink', () => trusted.gw.uplink?.connected || undefined);
    await trusted.alarm.alarm(2);
    const m = assertIncident(await waitFor('incident over TLS', () => got.find((x) => x.gatewayId === 'gw-tls')));
    expect(m.category).toBe('fire.smoke_alarm');

    const untrusting = await gateway('gw-no-ca', { url: broker.url });
    await waitFor('a refused handshake', () => untrusting.gw.counters.get('uplink_errors_total') > 0 || undefined);
    expect(untrusting.gw.uplink?.connected).toBe(false);
  });

  it('refuses a config whose CA file is missing or whose URL is not TLS', () => {
    expect(() =>
      resolveConfig({ gateway: { id: 'g', grid: '110105001002000' }, upstream: { url: 'mqtt://h:1883', ca: 'nope.pem' } }, 't', '/tmp', {}),
    ).toThrow(/upstream\.ca: file "\/tmp\/nope\.pem" does not exist[\s\S]*upstream\.url: "mqtt:\/\/h:1883" is not TLS/);
  });

  it('speaks MQTT 5, and two platform consumers in one shared subscription split the incidents with none lost', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const consumers = await Promise.all(
      [1, 2].map(async (n) => {
        const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `centre-consumer-${n}` });
        cleanups.push(() => c.endAsync(true));
        const got: IncidentMessage[] = [];
        c.on('message', (_t, p) => got.push(JSON.parse(p.toString()) as IncidentMessage));
        await c.subscribeAsync('$share/district-centre/gridedge/v1/+/+/incident', { qos: 1 });
        return got;
      }),
    );
    const a = await gateway('gw-a', { url: broker.url, protocolVersion: 5 });
    const b = await gateway('gw-b', { url: broker.url, protocolVersion: 5 });
    await waitFor('uplinks', () => (a.gw.uplink?.connected && b.gw.uplink?.connected) || undefined);
    for (let i = 0; i < 20; i++) {
      for (const g of [a, b]) {
        await g.alarm.alarm(1 + i / 100);
        await g.alarm.clear();
      }
    }
    const expected = 80; // 20 × (new + resolved) per gateway
    await waitFor('all incidents consumed', () => (consumers[0]!.length + consumers[1]!.length >= expected ? true : undefined));
    await new Promise((r) => setTimeout(r, 300)); // would-be duplicates get the chance to arrive
    const keys = consumers.flat().map((m) => `${m.gatewayId}:${m.seq}`);
    expect(keys).toHaveLength(expected);
    expect(new Set(keys).size).toBe(expected);
    for (const gw of ['gw-a', 'gw-b']) {
      const seqs = consumers
        .flat()
        .filter((m) => m.gatewayId === gw)
        .map((m) => m.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    expect(consumers[0]!.length).toBeGreaterThan(0);
    expect(consumers[1]!.length).toBeGreaterThan(0);
  });
});
