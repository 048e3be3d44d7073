/**
 * A Hikvision camera's own analytics in a running gateway: the camera (simulated, ISAPI
 * alertStream behind Digest) detects an intrusion and a line crossing and is covered; the
 * gateway raises camera.intrusion, camera.line_crossing and camera.tamper, each once however
 * often the camera repeats it, resolves each after the camera goes quiet, and shows the stream in
 * the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedIsapiCamera } from '../../sim/camera/isapi.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHOTOS } from '../helpers/photos.js';
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const GRID = '110105001002003';
const OFF = String((new Date().getUTCHours() + 12) % 24).padStart(2, '0');
let t: TestGateway;
let cam: SimulatedIsapiCamera;

beforeAll(async () => {
  cam = new SimulatedIsapiCamera({ password: 'hik-cam-pass', heartbeatMs: 1000, snapshot: PHOTOS[1]! });
  await cam.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    kinds: {
      'capture-camera': {
        blocklist: [
          { plate: '京A·88888', reason: 'reported stolen' },
          { plate: '京A·66666', reason: 'wanted' },
        ],
        // Allowed half an hour, twelve hours from now: always out of hours while the test runs.
        muckTrucks: [{ plate: '京C·12345', company: '城建渣土', allowedHours: `${OFF}:00-${OFF}:30` }],
      },
    },
    cameras: [{ id: 'cam-hik', name: '西门 Hikvision', grid: GRID, isapi: cam.url, user: 'admin', password: 'hik-cam-pass' }],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await cam?.stop();
});

describe("a Hikvision camera's own plate reads (ANPR)", () => {
  it('meets the watchlists and muck-truck hours, and goes to the centre as a capture with its pictures', async () => {
    await waitFor('the stream open', () => (cam.openStreams > 0 ? true : undefined));
    const from = t.incidents.length;
    const plateJpeg = PHOTOS[2]!;
    const sceneJpeg = PHOTOS[3]!;
    cam.anpr({ plate: '京A88888', color: 'blue', direction: 'forward', plateJpeg, sceneJpeg });
    const m = await t.waitForIncident('blocked plate', (x) => x.category === 'vehicle.watchlist_plate', from, 10_000);
    expect(m.facts).toMatchObject({
      plate: '京A88888',
      plateColor: 'blue',
      direction: 'in',
      reason: 'reported stolen',
      source: 'camera analytics',
    });
    expect(m.evidence[0]).toMatchObject({ class: 'plate', camera: 'cam-hik' });
    const cap = await waitFor('capture', () => t.gateway.captures.recent().find((c) => c.plate?.text === '京A88888'), 10_000);
    expect(cap).toMatchObject({
      source: 'camera',
      subject: 'plate',
      camera: 'cam-hik',
      grid: GRID,
      direction: 'in',
      plate: { color: 'blue' },
    });
    expect(cap.crop!.bytes).toBeGreaterThan(0);
    expect(cap.scene!.bytes).toBeGreaterThan(0);
    // A listed vehicle read with one OCR look-alike (G for 6) still matches, the confusion in the facts;
    // another letter (B for A, not a look-alike) is another vehicle.
    cam.anpr({ plate: '京B66666', plateJpeg });
    cam.anpr({ plate: '京A6666G', plateJpeg });
    const fuzzy = await t.waitForIncident('fuzzy match', (x) => x.facts.listedPlate === '京A66666', from, 10_000);
    expect(fuzzy.facts).toMatchObject({ plate: '京A6666G', ocrConfusions: 'G/6', match: 'fuzzy', reason: 'wanted' });
    expect(t.incidents.slice(from).some((x) => x.facts.plate === '京B66666')).toBe(false);
    // A muck truck outside its hours: the same rule as for capture cameras.
    cam.anpr({ plate: '京C12345', color: 'yellow', plateJpeg });
    const muck = await t.waitForIncident('muck truck', (x) => x.category === 'vehicle.muck_truck_off_hours', from, 10_000);
    expect(muck.facts).toMatchObject({ plate: '京C12345', company: '城建渣土' });
  });
});

describe("a Hikvision camera's own analytics", () => {
  it("shows the ISAPI event stream open and the camera's deviceInfo in the API, and serves its ISAPI snapshot", async () => {
    const isapi = await waitFor('the stream open', async () => {
      const res = await fetch(`${t.apiUrl}/api/cameras/cam-hik`, { headers: { authorization: `Bearer ${READ}` } });
      const c = (await res.json()) as { isapi?: { connected: boolean; device?: unknown } };
      return c.isapi?.connected && c.isapi.device ? c.isapi : undefined;
    });
    expect(isapi.device).toEqual({
      model: 'DS-2CD2T47G2-L',
      serial: 'DS-2CD2T47G2-L20210101AACHE12345678',
      firmware: 'V5.7.3 build 220112',
      name: 'IP CAMERA',
      mac: '44:19:b6:12:34:56',
    });
    const snap = await fetch(`${t.apiUrl}/api/cameras/cam-hik/snapshot`, { headers: { authorization: `Bearer ${READ}` } });
    expect(snap.status).toBe(200);
    expect(Buffer.from(await snap.arrayBuffer()).equals(PHOTOS[1]!)).toBe(true);
    expect(cam.snapshots).toBeGreaterThan(0);
  });

  for (const [type, category] of [
    ['fielddetection', 'camera.intrusion'],
    ['linedetection', 'camera.line_crossing'],
    ['shelteralarm', 'camera.tamper'],
  ] as const) {
    it(`raises ${category} once for ${type} repeated every second, and resolves it when the camera goes quiet`, async () => {
      const from = t.incidents.length;
      cam.raise(type);
      const m = await t.waitForIncident(category, (x) => x.category === category && x.type === 'new', from, 10_000);
      expect(m).toMatchObject({ grid: GRID, devices: [{ id: 'cam-hik', kind: 'camera', name: '西门 Hikvision' }] });
      expect(m.facts.detail).toBe(`ISAPI ${type}`);
      await new Promise((r) => setTimeout(r, 2500));
      cam.clear(type);
      const resolved = await t.waitForIncident('resolved', (x) => x.id === m.id && x.status === 'resolved', from, 15_000);
      // Repeats folded: one incident, never a second new one while it lasted.
      expect(t.incidents.slice(from).filter((x) => x.category === category && x.type === 'new')).toHaveLength(1);
      expect(resolved.count).toBe(1);
    }, 30_000);
  }
});
