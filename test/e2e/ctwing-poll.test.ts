/**
 * CTWing polled where its push cannot reach: the gateway signs each call to a simulated AEP API
 * (which recomputes the signature from the request as it arrived), finds its IMEI's deviceId in
 * the product's device list with the MasterKey, reads the device's latest properties, raises the
 * smoke alarm and the low battery through the device's model and kind once each, follows the
 * device's netStatus, polls a device named by deviceId without any MasterKey, and counts a wrong
 * App Secret without ever logging it or the MasterKey.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCtwing, SimulatedCtwingApi } from '../../sim/sources/ctwing.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/servers.js';

const APP = {
  appKey: 'dAaFG7DiPt8',
  appSecret: 'ctwing-app-secret-0123',
  productId: '15114816',
  masterKey: 'ffd9c7a217004acc87f2df46c348e8d2',
};
const IMEI = '862592051651472';
const OTHER = '862592051651489';
let api: SimulatedCtwingApi;
let t: TestGateway;
const statusCalls = () => api.requests.filter((r) => r === 'POST /aep_device_status/deviceStatusList').length;

beforeAll(async () => {
  api = new SimulatedCtwingApi(APP);
  await api.start();
  api.add(IMEI, 'shop 18 smoke');
  api.set(IMEI, 'smoke_state', 0);
  api.set(IMEI, 'battery_value', 90);
  api.set(IMEI, 'signalStrength', -85); // nothing the kind uses
  api.add(OTHER, 'not adopted');
  t = await startTestGateway({
    sources: { ctwing: { poll: { url: api.url, ...APP, everySeconds: 1 } } },
    devices: [{ id: 'ct-poll', kind: 'smoke-alarm', source: { type: 'ctwing', id: IMEI, model: 'ctwing-smoke' } }],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await api?.stop();
});

describe('CTWing API polling', () => {
  it('lists the product with the MasterKey, then reads the device by its deviceId each round, every call signed', async () => {
    await waitFor('two rounds', () => statusCalls() >= 2, 10_000);
    expect(api.refused).toEqual([]);
    expect(api.requests).toContain('GET /aep_device_management/devices');
    expect(t.incidents.filter((m) => m.category === 'fire.smoke_alarm')).toHaveLength(0);
    const health = t.gateway.sources.health().find((s) => s.source === 'ctwing');
    expect(health?.inventory.map((d) => [d.externalId, d.adopted]).sort()).toEqual([
      [IMEI, true],
      [OTHER, false],
    ]);
  });

  it('raises the smoke alarm from a new value, once however many rounds read it', async () => {
    api.set(IMEI, 'smoke_state', 1, Date.now() + 1000);
    const m = await t.waitForIncident('smoke alarm', (x) => x.category === 'fire.smoke_alarm', 0, 10_000);
    expect(m.devices[0]!.id).toBe('ct-poll');
    const rounds = statusCalls();
    await waitFor('two more rounds', () => statusCalls() >= rounds + 2, 10_000);
    expect(t.incidents.filter((x) => x.category === 'fire.smoke_alarm' && x.status === 'open').map((x) => x.count)).toEqual([1]);
    api.set(IMEI, 'battery_value', 7, Date.now() + 2000);
    await t.waitForIncident('low battery', (x) => x.category === 'device.low_battery', 0, 10_000);
  });

  it('reports the device offline while the API does not answer for it, and online when it does again', async () => {
    const from = t.incidents.length;
    api.unavailable = true;
    const off = await t.waitForIncident('offline', (x) => x.category === 'device.offline' && x.devices[0]?.id === 'ct-poll', from, 15_000);
    expect(JSON.stringify(off)).toContain("CTWing's API does not answer for it");
    expect(t.gateway.counters.total('source_poll_failures_total')).toBeGreaterThanOrEqual(3);
    api.unavailable = false;
    await t.waitForIncident('online again', (x) => x.category === 'device.offline' && x.status === 'resolved', from, 15_000);
  });

  it("follows the device's netStatus", async () => {
    const from = t.incidents.length;
    api.devices.get(IMEI)!.online = false;
    await t.waitForIncident('offline', (x) => x.category === 'device.offline' && x.devices[0]?.id === 'ct-poll', from, 10_000);
  });

  it('polls a device named by its deviceId with no MasterKey at all', async () => {
    const { masterKey: _unused, ...noMaster } = APP;
    const g = await startTestGateway({
      sources: { ctwing: { poll: { url: api.url, ...noMaster, everySeconds: 1 } } },
      devices: [
        { id: 'ct-by-id', kind: 'smoke-alarm', source: { type: 'ctwing', id: SimulatedCtwing.deviceId(OTHER), model: 'ctwing-smoke' } },
      ],
    });
    try {
      api.set(OTHER, 'smoke_state', 1);
      await g.waitForIncident('smoke alarm', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]?.id === 'ct-by-id', 0, 10_000);
      expect(api.refused).toEqual([]);
    } finally {
      await g.stop();
    }
  });

  it('counts a refused signature and never writes the secret or the MasterKey anywhere', async () => {
    const g = await startTestGateway({
      sources: { ctwing: { poll: { url: api.url, ...APP, appSecret: 'another-secret-0000', everySeconds: 1 } } },
      devices: [{ id: 'ct-poll-2', kind: 'smoke-alarm', source: { type: 'ctwing', id: IMEI, model: 'ctwing-smoke' } }],
    });
    try {
      await waitFor('a failed poll', () => g.gateway.counters.total('source_poll_failures_total') >= 2, 10_000);
      const logged = g.logs();
      expect(logged).toMatch(/CTWing API poll failed/);
      expect(logged).toMatch(/Signature not matched/);
      expect(logged).toMatch(/no CTWing deviceId for IMEI/);
      expect(logged).not.toContain('another-secret-0000');
      expect(logged).not.toContain(APP.masterKey);
      expect(api.refused).toContain('Signature not matched');
    } finally {
      await g.stop();
    }
  });
});
