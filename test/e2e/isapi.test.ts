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
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const GRID = '110105001002003';
let t: TestGateway;
let cam: SimulatedIsapiCamera;

beforeAll(async () => {
  cam = new SimulatedIsapiCamera({ password: 'hik-cam-pass', heartbeatMs: 1000 });
  await cam.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    cameras: [{ id: 'cam-hik', name: '西门 Hikvision', grid: GRID, isapi: cam.url, user: 'admin', password: 'hik-cam-pass' }],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await cam?.stop();
});

describe("a Hikvision camera's own analytics", () => {
  it('shows the ISAPI event stream open in the API', async () => {
    await waitFor('the stream open', async () => {
      const res = await fetch(`${t.apiUrl}/api/cameras/cam-hik`, { headers: { authorization: `Bearer ${READ}` } });
      const c = (await res.json()) as { isapi?: { connected: boolean } };
      return c.isapi?.connected || undefined;
    });
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
