/**
 * A Dahua camera's own analytics in a running gateway: the camera (simulated, eventManager
 * attach behind Digest, Content-Length 0 on its parts as some firmware writes) detects a region
 * intrusion, has its lens covered and reads a blocked plate at the junction; the gateway raises
 * camera.intrusion and camera.tamper once each and resolves them on the camera's Stop, meets the
 * watchlist with the camera's snapshot as the picture, sends the capture on, shows the stream
 * and the camera's model in the API, and serves the camera's own snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedDahuaCamera } from '../../sim/camera/dahua.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHOTOS } from '../helpers/photos.js';
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const GRID = '110105001002003';
let t: TestGateway;
let cam: SimulatedDahuaCamera;
const get = (path: string) => fetch(`${t.apiUrl}${path}`, { headers: { authorization: `Bearer ${READ}` } });

beforeAll(async () => {
  cam = new SimulatedDahuaCamera({ password: 'dahua-cam-pass', snapshot: PHOTOS[3]!, wrongLength: true });
  await cam.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    kinds: { 'capture-camera': { blocklist: [{ plate: '浙A·12345', reason: 'reported stolen' }] } },
    cameras: [{ id: 'cam-dahua', name: '北门 Dahua', grid: GRID, dahua: cam.url, user: 'admin', password: 'dahua-cam-pass' }],
  });
  await waitFor('the stream open', () => (cam.openStreams > 0 ? true : undefined), 10_000);
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await cam?.stop();
});

describe("a Dahua camera's own analytics", () => {
  it("shows the stream open and the camera's model, and serves the camera's own snapshot", async () => {
    const c = await waitFor('the device info', async () => {
      const body = (await (await get('/api/cameras/cam-dahua')).json()) as { dahua?: { connected: boolean; device?: { model?: string } } };
      return body.dahua?.device ? body.dahua : undefined;
    });
    expect(c).toMatchObject({
      connected: true,
      device: { model: 'IPC-HFW4431R-Z', serial: '5J0A1B2PAZ12345', firmware: '2.420.0000.0.R,build:2016-09-29' },
    });
    const snap = await get('/api/cameras/cam-dahua/snapshot');
    expect(snap.status).toBe(200);
    expect(Buffer.from(await snap.arrayBuffer()).equals(PHOTOS[3]!)).toBe(true);
  });

  for (const [code, category] of [
    ['CrossRegionDetection', 'camera.intrusion'],
    ['VideoBlind', 'camera.tamper'],
  ] as const) {
    it(`raises ${category} once for ${code} Start, however long it lasts, and resolves it on Stop`, async () => {
      const from = t.incidents.length;
      cam.send(code, 'Start', 0, code === 'CrossRegionDetection' ? { Action: 'Cross', Direction: 'Enter', Name: 'north lawn' } : undefined);
      const m = await t.waitForIncident(category, (x) => x.category === category && x.type === 'new', from, 10_000);
      expect(m).toMatchObject({ grid: GRID, devices: [{ id: 'cam-dahua', kind: 'camera', name: '北门 Dahua' }] });
      expect(m.facts.detail).toBe(`Dahua ${code}`);
      await new Promise((r) => setTimeout(r, 6500)); // past the quiet period: a Start lasts until its Stop
      expect(t.incidents.slice(from).filter((x) => x.id === m.id && x.status === 'resolved')).toHaveLength(0);
      cam.send(code, 'Stop', 0);
      await t.waitForIncident('resolved', (x) => x.id === m.id && x.status === 'resolved', from, 10_000);
    }, 30_000);
  }

  it("meets the watchlist with a junction plate read, the camera's snapshot its picture, and sends the capture on", async () => {
    const from = t.incidents.length;
    cam.plate('浙A12345', 'Blue');
    const m = await t.waitForIncident('blocked plate', (x) => x.category === 'vehicle.watchlist_plate', from, 10_000);
    expect(m.facts).toMatchObject({ plate: '浙A12345', plateColor: 'blue', reason: 'reported stolen', source: 'camera analytics' });
    expect(m.evidence[0]).toMatchObject({ class: 'plate', camera: 'cam-dahua' });
    const cap = await waitFor('capture', () => t.gateway.captures.recent().find((c) => c.plate?.text === '浙A12345'), 10_000);
    expect(cap).toMatchObject({ source: 'camera', subject: 'plate', camera: 'cam-dahua', grid: GRID, plate: { color: 'blue' } });
    expect(cap.crop!.bytes).toBe(PHOTOS[3]!.length);
  });
});
