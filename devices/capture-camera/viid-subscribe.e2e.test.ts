/**
 * The gateway subscribing to a lower GA/T 1400 system (simulated): it posts /VIID/Subscribes
 * signed in as its VIIDServerID, for faces (12) and vehicles (13), its ReceiveAddr its own
 * SubscribeNotifications; a lower system not ready yet (StatusCode 8) is asked again; the lower
 * system's notification of a blocked car raises the watchlist incident, as that system's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeJpeg, ViidClient } from '../../sim/capture-camera.js';
import { SimulatedLowerViid } from '../../sim/viid-lower.js';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { freePort, waitFor } from '../../test/helpers/servers.js';

const SERVER_ID = '11010500005030000009';
const SYSTEM = '11010500005030000100';
let t: TestGateway;
let lower: SimulatedLowerViid;

beforeAll(async () => {
  lower = new SimulatedLowerViid({ id: SERVER_ID, password: 'cascade-pass' }, { id: SYSTEM, secret: 'lower-secret-1' });
  lower.refuseNext = 1; // not ready at first
  await lower.start();
  const api = await freePort();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: api },
    kinds: {
      'capture-camera': {
        viidServerId: SERVER_ID,
        blocklist: [{ plate: '京A·77777', reason: 'reported stolen' }],
        subscribe: [
          { system: SYSTEM, url: lower.url, password: 'cascade-pass', receiveAddr: `http://127.0.0.1:${api}/VIID/SubscribeNotifications` },
        ],
      },
    },
    devices: [{ id: SYSTEM, kind: 'capture-camera', secret: 'lower-secret-1' }],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await lower?.stop();
});

describe('subscribing to a lower GA/T 1400 system', () => {
  it('subscribes for faces and vehicles as its VIIDServerID, asking again when the system was not ready', async () => {
    const s = await waitFor('subscribed', () => lower.subscriptions[0], 15_000);
    expect(s).toMatchObject({
      SubscribeDetail: '12,13',
      ResourceURI: SYSTEM,
      ReceiveAddr: `${t.apiUrl}/VIID/SubscribeNotifications`,
      from: SERVER_ID,
    });
    expect(s.SubscribeID).toMatch(new RegExp(`^${SERVER_ID}02\\d{11}$`));
    expect(s.BeginTime).toMatch(/^\d{14}$/);
    expect(Number(s.EndTime)).toBeGreaterThan(Number(s.BeginTime));
    expect(t.logs()).toMatch(/cannot subscribe to the lower GA\/T 1400 system/);
    expect(t.logs()).not.toContain('cascade-pass');
  });

  it("reads the system's notifications through the rules, as that system's", async () => {
    await new ViidClient(t.apiUrl, SYSTEM, 'lower-secret-1').register();
    const from = t.incidents.length;
    const vehicle = {
      MotorVehicleID: `${SYSTEM}02000000000000000000000001`,
      DeviceID: SYSTEM,
      PlateNo: '京A77777',
      PlateColor: '5',
      PassTime: ViidClient.time(),
      SubImageList: { SubImageInfoObject: [{ Type: '02', FileFormat: 'Jpeg', Data: fakeJpeg('lower-plate').toString('base64') }] },
    };
    expect(await lower.notify({ vehicles: [vehicle] })).toEqual([0]);
    const m = await t.waitForIncident('watchlist', (x) => x.category === 'vehicle.watchlist_plate' && x.facts.plate === '京A77777', from);
    expect(m.devices[0]!.id).toBe(SYSTEM);
  });
});
