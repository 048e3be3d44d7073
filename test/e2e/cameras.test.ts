/**
 * Cameras in a running gateway: configured by ONVIF address, connected, frames flowing (and
 * gated by motion), health in the API and metrics, tamper and lost video as incidents, and a
 * snapshot attached to a smoke alarm in the same grid cell.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../../devices/camera/frames.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/servers.js';

const GRID = '110105001002001';
const READ = 'read-token-0123456789';
const PASSWORD = 'gate-cam-pass';

let t: TestGateway;
let cam: SimulatedCamera;
let alarm: SimulatedSmokeAlarm;
const delivered: Frame[] = [];

async function api<T>(path: string): Promise<{ status: number; body: T; type: string | null; raw: Buffer }> {
  const res = await fetch(`${t.apiUrl}${path}`, { headers: { authorization: `Bearer ${READ}` } });
  const raw = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type');
  return { status: res.status, type, raw, body: (type?.includes('json') ? JSON.parse(raw.toString()) : undefined) as T };
}

interface CameraView {
  id: string;
  onvif?: { connected: boolean; events: boolean; lastError?: string; info?: { model: string } };
  stream?: { connected: boolean; fpsIn: number; frames: number; restarts: number };
  framesGated: number;
  motion: boolean;
  tamper: boolean;
  lastError?: string;
}

beforeAll(async () => {
  cam = new SimulatedCamera({ id: 'cam-gate', user: 'admin', password: PASSWORD, fps: 10, location: GRID });
  await cam.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    devices: [
      { id: 'smoke-9', kind: 'smoke-alarm', secret: 'smoke-secret-9', grid: GRID },
      // In another cell, but the gate camera is the one that sees its door.
      { id: 'smoke-10', kind: 'smoke-alarm', secret: 'smoke-secret-10', grid: '110105001002009', cameras: ['cam-gate'] },
    ],
    cameras: [
      {
        id: 'cam-gate',
        grid: GRID,
        onvif: cam.xaddr,
        user: 'admin',
        password: PASSWORD,
        fps: 4,
        width: 320,
        height: 180,
        motionGate: true,
        stallSeconds: 2,
      },
      { id: 'cam-wrong', onvif: cam.xaddr, user: 'admin', password: 'not-the-password' },
    ],
  });
  t.gateway.cameras.addConsumer((f) => void delivered.push(f));
  alarm = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-9', secret: 'smoke-secret-9' });
  await alarm.connect();
}, 60_000);

afterAll(async () => {
  await alarm?.disconnect();
  await t?.stop();
  await cam?.stop();
});

const camera = async (id: string) => (await api<CameraView>(`/api/cameras/${id}`)).body;

describe('cameras in the gateway', () => {
  it('connects over ONVIF, pulls frames and shows its health in the API and metrics', async () => {
    await waitFor('frames flowing', async () => (await camera('cam-gate')).stream?.connected, 20_000);
    const c = await camera('cam-gate');
    expect(c.onvif).toMatchObject({ connected: true, info: { model: 'SimCam-1' } });
    expect(c.stream!.fpsIn).toBeGreaterThan(0);
    const metrics = (await api<string>('/metrics')).raw.toString();
    expect(metrics).toMatch(/gridedge_camera_connected\{camera="cam-gate"\} 1/);
    expect(metrics).toMatch(/gridedge_camera_fps_in\{camera="cam-gate"\} [1-9]/);
    expect((await api('/api/cameras/nope')).status).toBe(404);
  }, 30_000);

  it('keeps a camera with the wrong password out, and says why', async () => {
    await waitFor('the refusal', async () => (await camera('cam-wrong')).lastError, 10_000);
    const c = await camera('cam-wrong');
    expect(c.onvif?.connected).toBe(false);
    expect(c.lastError).toMatch(/refused the credentials/);
    expect(t.logs()).not.toContain('not-the-password');
  });

  it('hands frames to the detectors only while the camera reports motion (motion gate)', async () => {
    cam.show('street');
    await waitFor('gated frames', async () => (await camera('cam-gate')).framesGated > 2, 10_000);
    delivered.length = 0;
    await new Promise((r) => setTimeout(r, 1500));
    expect(delivered.filter((f) => f.camera === 'cam-gate')).toHaveLength(0);
    cam.show('people');
    await waitFor('frames delivered with motion', () => delivered.filter((f) => f.camera === 'cam-gate').length >= 3, 10_000);
    expect((await camera('cam-gate')).motion).toBe(true);
    expect(delivered[0]!.data.length).toBe(320 * 180 * 3);
    cam.show('street');
  }, 30_000);

  it('raises camera.tamper when the camera reports tampering, and resolves it when that ends', async () => {
    const from = t.incidents.length;
    cam.show('covered');
    const raised = await t.waitForIncident('camera.tamper', (m) => m.category === 'camera.tamper' && m.type === 'new', from, 10_000);
    expect(raised.grid).toBe(GRID);
    expect(raised.devices[0]!.id).toBe('cam-gate');
    cam.show('street');
    await t.waitForIncident('tamper resolved', (m) => m.category === 'camera.tamper' && m.status === 'resolved', from, 10_000);
  }, 30_000);

  it('attaches a snapshot from the cameras of the cell to a smoke alarm', async () => {
    cam.show('vehicles');
    const from = t.incidents.length;
    await alarm.alarm(3);
    const withSnapshot = await t.waitForIncident(
      'the alarm with a snapshot',
      (m) => m.category === 'fire.smoke_alarm' && m.evidence.some((e) => e.class === 'snapshot'),
      from,
      10_000,
    );
    const ev = withSnapshot.evidence.find((e) => e.class === 'snapshot')!;
    expect(ev.mime).toBe('image/jpeg');
    expect(ev.bytes).toBeGreaterThan(10_000);
    expect(ev.camera).toBe('cam-gate');
    await alarm.clear();
    cam.show('street');
  }, 30_000);

  it("attaches a snapshot from the device's own cameras when the config names them, whatever its cell", async () => {
    const other = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-10', secret: 'smoke-secret-10' });
    await other.connect();
    try {
      const from = t.incidents.length;
      await other.alarm(3);
      const m = await t.waitForIncident(
        "the other cell's alarm with a snapshot",
        (x) => x.category === 'fire.smoke_alarm' && x.devices[0]?.id === 'smoke-10' && x.evidence.some((e) => e.class === 'snapshot'),
        from,
        10_000,
      );
      expect(m.grid).toBe('110105001002009');
      expect(m.evidence.filter((e) => e.class === 'snapshot').map((e) => e.camera)).toEqual(['cam-gate']);
      await other.clear();
    } finally {
      await other.disconnect();
    }
  }, 30_000);

  it('serves a fresh snapshot through the API', async () => {
    const r = await api('/api/cameras/cam-gate/snapshot');
    expect(r.status).toBe(200);
    expect(r.type).toBe('image/jpeg');
    expect(r.raw.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const unauth = await fetch(`${t.apiUrl}/api/cameras/cam-gate/snapshot`);
    expect(unauth.status).toBe(401);
  });

  it('raises camera.video_lost when the stream dies, reconnects, and resolves it when frames return', async () => {
    const from = t.incidents.length;
    await cam.killStream();
    const lost = await t.waitForIncident('camera.video_lost', (m) => m.category === 'camera.video_lost' && m.type === 'new', from, 20_000);
    expect(lost.facts.camera).toBe('cam-gate');
    await cam.restartStream();
    await t.waitForIncident('video back', (m) => m.category === 'camera.video_lost' && m.status === 'resolved', from, 40_000);
    const c = await camera('cam-gate');
    expect(c.stream!.restarts).toBeGreaterThan(0);
    expect(c.stream!.connected).toBe(true);
  }, 60_000);
});
