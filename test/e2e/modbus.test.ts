/**
 * A restaurant's gas alarm controller over Modbus TCP (modbus-serial's own server as the
 * controller): a channel over the alarm level raises gas.leak and the gateway closes the valve
 * by writing the controller's coil, confirmed on the incident; a faulty channel raises
 * device.fault; the controller going dark takes its channels offline, and they come back with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGasController } from '../../sim/sources/modbus.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort, waitFor } from '../helpers/servers.js';

let t: TestGateway;
let panel: SimulatedGasController;

beforeAll(async () => {
  panel = new SimulatedGasController(await freePort());
  await panel.start();
  t = await startTestGateway({
    sources: {
      modbus: {
        controllers: [{ id: 'kitchen', host: '127.0.0.1', port: panel.port, pollSeconds: 0.3, timeoutMs: 500 }],
        offlineAfterFailures: 2,
      },
    },
    devices: [
      {
        id: 'wok-line',
        kind: 'gas-sensor',
        source: { type: 'modbus', id: 'kitchen/1', model: 'gas-controller-8ch' },
        options: { valve: true },
      },
      { id: 'store-room', kind: 'gas-sensor', source: { type: 'modbus', id: 'kitchen/2', model: 'gas-controller-8ch' } },
    ],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await panel?.stop();
});

describe('a gas alarm controller over Modbus TCP', () => {
  it('raises gas.leak for a channel over the alarm level and closes the valve through the coil', async () => {
    panel.setLel(1, 42.5);
    const m = await t.waitForIncident('leak', (x) => x.category === 'gas.leak' && x.devices[0]!.id === 'wok-line', 0, 10_000);
    expect(m.facts.lel).toBe(42.5);
    await waitFor('valve closed', () => (panel.valveOpen ? undefined : true), 10_000);
    expect(panel.writes).toEqual([{ address: 0, value: false }]);
    await t.waitForIncident('valve confirmed', (x) => x.id === m.id && x.facts.valveShut === 'confirmed', 0, 10_000);
    panel.setLel(1, 0);
    await t.waitForIncident('leak over', (x) => x.id === m.id && x.status === 'resolved', 0, 10_000);
  });

  it('raises device.fault for a channel the controller reports faulty, and only for it', async () => {
    const from = t.incidents.length;
    panel.setFault(2, true);
    const m = await t.waitForIncident('fault', (x) => x.category === 'device.fault', from, 10_000);
    expect(m.devices[0]!.id).toBe('store-room');
  });

  it('takes its channels offline when the controller stops answering, and back when it returns', async () => {
    const from = t.incidents.length;
    await panel.stop();
    const offline = await waitFor(
      'both channels offline',
      () => {
        const ids = new Set(
          t.incidents
            .slice(from)
            .filter((x) => x.category === 'device.offline')
            .map((x) => x.devices[0]!.id),
        );
        return ids.has('wok-line') && ids.has('store-room') ? ids : undefined;
      },
      15_000,
    );
    expect(offline.size).toBe(2);
    expect(t.gateway.counters.total('modbus_errors_total')).toBeGreaterThan(0);
    await panel.start();
    await waitFor(
      'back online',
      () =>
        t.incidents.slice(from).filter((x) => x.category === 'device.offline' && x.status === 'resolved').length >= 2 ? true : undefined,
      15_000,
    );
  }, 40_000);
});
