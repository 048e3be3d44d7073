/**
 * OneNET polled where its push cannot reach: the gateway reads a simulated OneNET API (getbyimei,
 * device details, data streams with Beijing-time update_at) with the master key, takes each new
 * value once, raises the smoke alarm and the low battery through the device's model and kind,
 * follows the device's online state, and counts a wrong key without ever logging it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedOnenetApi } from '../../sim/sources/onenet.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/servers.js';

const KEY = 'onenet-master-key-0123456789';
const IMEI = '863412045678911';
const DEV_ID = '5241665';
let api: SimulatedOnenetApi;
let t: TestGateway;

beforeAll(async () => {
  api = new SimulatedOnenetApi(KEY);
  await api.start();
  const d = api.add(IMEI, DEV_ID);
  api.set(IMEI, '3200_0_5500', 0);
  api.set(IMEI, '3_0_9', 90);
  d.streams.set('4_0_2', { value: -85, at: Date.now() }); // signal strength: nothing the kind uses
  t = await startTestGateway({
    sources: { onenet: { poll: { url: api.url, apiKey: KEY, everySeconds: 1 } } },
    devices: [{ id: 'nb-poll', kind: 'smoke-alarm', source: { type: 'onenet', id: IMEI, model: 'onenet-ipso-smoke' } }],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await api?.stop();
});

describe('OneNET API polling', () => {
  it('looks the device up by IMEI once, then reads its data streams each round', async () => {
    await waitFor('two rounds', () => api.requests.filter((p) => p.endsWith('/datastreams')).length >= 2, 10_000);
    expect(api.requests.filter((p) => p === '/devices/getbyimei')).toHaveLength(1);
    expect(api.requests).toContain(`/devices/${DEV_ID}/datastreams`);
    expect(t.incidents.filter((m) => m.category === 'fire.smoke_alarm')).toHaveLength(0);
  });

  it('raises the smoke alarm from a new value, once however many rounds read it', async () => {
    api.set(IMEI, '3200_0_5500', 1, Date.now() + 1000);
    const m = await t.waitForIncident('smoke alarm', (x) => x.category === 'fire.smoke_alarm', 0, 10_000);
    expect(m.devices[0]!.id).toBe('nb-poll');
    const rounds = api.requests.filter((p) => p.endsWith('/datastreams')).length;
    await waitFor('two more rounds', () => api.requests.filter((p) => p.endsWith('/datastreams')).length >= rounds + 2, 10_000);
    expect(t.incidents.filter((m) => m.category === 'fire.smoke_alarm' && m.status === 'open').map((m) => m.count)).toEqual([1]);
    api.set(IMEI, '3_0_9', 7, Date.now() + 2000);
    await t.waitForIncident('low battery', (x) => x.category === 'device.low_battery', 0, 10_000);
  });

  it('follows the device going offline on OneNET', async () => {
    api.devices.get(IMEI)!.online = false;
    await t.waitForIncident('offline', (x) => x.category === 'device.offline' && x.devices[0]?.id === 'nb-poll', 0, 10_000);
  });

  it('counts a refused key and never writes it anywhere', async () => {
    const bad = new SimulatedOnenetApi('another-key-0000');
    await bad.start();
    bad.add(IMEI, DEV_ID);
    const g = await startTestGateway({
      sources: { onenet: { poll: { url: bad.url, apiKey: KEY, everySeconds: 1 } } },
      devices: [{ id: 'nb-poll-2', kind: 'smoke-alarm', source: { type: 'onenet', id: IMEI, model: 'onenet-ipso-smoke' } }],
    });
    try {
      await waitFor('a failed poll', () => g.gateway.counters.total('source_poll_failures_total') >= 1, 10_000);
      const logged = g.logs();
      expect(logged).toMatch(/OneNET API poll failed/);
      expect(logged).toMatch(/errno 3/);
      expect(logged).not.toContain(KEY);
    } finally {
      await g.stop();
      await bad.stop();
    }
  });
});
