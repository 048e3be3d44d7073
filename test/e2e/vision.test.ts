/**
 * Detectors in a running gateway, on a simulated camera's RTSP stream: a blocked plate read on
 * the device raises vehicle.watchlist_plate with the plate's best shot, a person in a restricted
 * zone raises person.restricted_zone, flames raise fire.video_flame with the scene; each tracked
 * plate, person and vehicle leaves one capture (best shot stored) and series points. Behaviours on
 * the same camera: a person walking across the gate line is counted by direction and raises
 * person.line_crossing; a person standing in the lobby raises person.loitering; the parked car
 * raises vehicle.no_parking.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../detectors/image.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/servers.js';

const GRID = '110105001002001';
const READ = 'read-token-0123456789';

const FULL: Array<[number, number]> = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
];

let t: TestGateway;
let cam: SimulatedCamera;

interface VisionView {
  workers?: { workers: number; jobs: number; meanMs: Record<string, number> };
  cameras: Array<{
    camera: string;
    frames: number;
    last: Record<string, number>;
    crossings: Record<string, Record<string, { in: number; out: number }>>;
  }>;
  captures: Array<{ label: string; plate?: string; color?: string; sha256?: string; frames: number; quality: number }>;
}

async function api<T>(p: string): Promise<T> {
  const res = await fetch(`${t.apiUrl}${p}`, { headers: { authorization: `Bearer ${READ}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  cam = new SimulatedCamera({ id: 'cam-yard', fps: 4, location: GRID, initialScene: 'street' });
  await cam.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    kinds: { 'capture-camera': { blocklist: [{ plate: '京A·12345', reason: 'reported stolen' }] } },
    vision: { workers: 1, fireConfirmFrames: 3, trackMissedFrames: 2 },
    cameras: [
      {
        id: 'cam-yard',
        grid: GRID,
        rtsp: cam.rtspUrl,
        fps: 2,
        width: 640,
        height: 360,
        detect: {
          plate: {},
          object: {},
          fire: {},
          zones: [
            {
              name: 'yard',
              mode: 'restricted',
              polygon: [
                [0, 0],
                [1, 0],
                [1, 1],
                [0, 1],
              ],
              labels: ['person'],
            },
            { name: 'lobby', mode: 'loitering', seconds: 3, polygon: FULL },
            { name: 'fire-lane', mode: 'no_parking', seconds: 3, polygon: FULL },
          ],
          // A line down the middle of the picture; the community is on the right.
          lines: [{ name: 'gate', from: [0.5, 0], to: [0.5, 1], inside: [0.9, 0.5], alarm: 'in' }],
        },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await cam?.stop();
});

describe('on-device detectors in the gateway', () => {
  it('raises vehicle.watchlist_plate for a blocked plate it reads, with the plate as evidence', async () => {
    cam.show('plate');
    const m = await t.waitForIncident('watchlist plate', (x) => x.category === 'vehicle.watchlist_plate', 0, 60_000);
    expect(m.facts).toMatchObject({
      plate: '京A12345',
      plateColor: 'blue',
      plateType: 'small',
      reason: 'reported stolen',
      camera: 'cam-yard',
      source: 'on-device detector',
    });
    expect(m.grid).toBe(GRID);
    expect(m.evidence[0]).toMatchObject({ class: 'plate', mime: 'image/jpeg' });
    expect(m.evidence[0]!.boxes?.[0]?.label).toBe('plate');
  }, 90_000);

  it('raises person.restricted_zone for a person in the zone', async () => {
    cam.show('people');
    const m = await t.waitForIncident('restricted zone', (x) => x.category === 'person.restricted_zone', 0, 60_000);
    expect(m.facts).toMatchObject({ zone: 'yard', camera: 'cam-yard' });
    expect(m.evidence[0]).toMatchObject({ class: 'person', mime: 'image/jpeg' });
  }, 90_000);

  it('raises fire.video_flame once flames are seen in a few frames, with the scene as evidence', async () => {
    cam.show('fire');
    const m = await t.waitForIncident('flames', (x) => x.category === 'fire.video_flame', 0, 60_000);
    expect(Number(m.facts.frames)).toBeGreaterThanOrEqual(3);
    expect(m.severity).toBe('critical');
    expect(m.evidence[0]).toMatchObject({ class: 'scene', mime: 'image/jpeg' });
    expect(m.evidence[0]!.boxes?.[0]?.label).toBe('fire');
  }, 90_000);

  it('raises person.loitering for the person who stays in the lobby', async () => {
    cam.show('people');
    const m = await t.waitForIncident('loitering', (x) => x.category === 'person.loitering', 0, 60_000);
    expect(m.facts).toMatchObject({ zone: 'lobby', camera: 'cam-yard', label: 'person' });
    expect(Number(m.facts.seconds)).toBeGreaterThanOrEqual(3);
    expect(m.evidence[0]).toMatchObject({ class: 'person', mime: 'image/jpeg' });
  }, 90_000);

  it('counts a person walking across the gate line by direction and raises person.line_crossing for the alarmed way in', async () => {
    cam.show('walk');
    const m = await t.waitForIncident('line crossing', (x) => x.category === 'person.line_crossing', 0, 60_000);
    expect(m.facts).toMatchObject({ line: 'gate', direction: 'in', camera: 'cam-yard' });
    expect(m.evidence[0]).toMatchObject({ class: 'person', mime: 'image/jpeg' });
    const v = await api<VisionView>('/api/vision');
    const gate = v.cameras[0]!.crossings.gate!;
    expect(gate.person!.in).toBeGreaterThanOrEqual(1);
    expect(gate.person!.out).toBe(0); // the picture only ever walks left to right
    cam.show('street');
  }, 90_000);

  it('raises vehicle.no_parking for the car standing in the fire lane', async () => {
    cam.show('vehicles');
    const m = await t.waitForIncident('no parking', (x) => x.category === 'vehicle.no_parking', 0, 60_000);
    expect(m.facts).toMatchObject({ zone: 'fire-lane', camera: 'cam-yard', label: 'car' });
    expect(m.evidence[0]).toMatchObject({ class: 'vehicle', mime: 'image/jpeg' });
    cam.show('street');
  }, 90_000);

  it('records one capture per tracked plate, person and vehicle, with its best shot stored', async () => {
    cam.show('street');
    const v = await waitFor(
      'captures',
      async () => {
        const r = await api<VisionView>('/api/vision');
        const labels = new Set(r.captures.map((c) => c.label));
        return labels.has('plate') && labels.has('person') && (labels.has('car') || labels.has('bicycle')) ? r : undefined;
      },
      60_000,
    );
    const plates = v.captures.filter((c) => c.label === 'plate');
    expect(plates.map((c) => c.plate)).toContain('京A12345');
    // One capture per track, not one per frame: each was seen in several frames.
    for (const c of v.captures) {
      expect(c.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(c.quality).toBeGreaterThan(0);
    }
    expect(plates.every((c) => c.frames >= 2)).toBe(true);
    expect(v.workers?.workers).toBe(1);
    expect(v.workers!.meanMs.object).toBeGreaterThan(0);
    expect(v.cameras[0]!.frames).toBeGreaterThan(5);
    const shot = await fetch(`${t.apiUrl}/api/evidence/${plates[0]!.sha256}`, { headers: { authorization: `Bearer ${READ}` } });
    expect(shot.status).toBe(200);
    expect(Buffer.from(await shot.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  }, 90_000);

  it('serves the last detector frame with the boxes drawn, and says when there is none', async () => {
    cam.show('vehicles');
    await waitFor('vehicles seen', async () => (await api<VisionView>('/api/vision')).cameras[0]!.last.car, 30_000);
    const res = await fetch(`${t.apiUrl}/api/cameras/cam-yard/frame`, { headers: { authorization: `Bearer ${READ}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Number(res.headers.get('x-detections'))).toBeGreaterThanOrEqual(1);
    const jpeg = Buffer.from(await res.arrayBuffer());
    const drawn = await decodeImage(jpeg);
    expect([drawn.width, drawn.height]).toEqual([640, 360]);
    // The car's box is drawn in orange along its top edge: find strongly orange pixels.
    let orange = 0;
    for (let i = 0; i < drawn.data.length; i += 3)
      if (drawn.data[i]! > 200 && drawn.data[i + 1]! > 120 && drawn.data[i + 1]! < 200 && drawn.data[i + 2]! < 80) orange++;
    expect(orange).toBeGreaterThan(100);
    expect((await fetch(`${t.apiUrl}/api/cameras/nope/frame`, { headers: { authorization: `Bearer ${READ}` } })).status).toBe(404);
    for (const bad of ['limit=0', 'limit=501', 'limit=ten', 'other=1'])
      expect((await fetch(`${t.apiUrl}/api/vision?${bad}`, { headers: { authorization: `Bearer ${READ}` } })).status, bad).toBe(400);
    cam.show('street');
  }, 60_000);

  it('writes detections, captures and vehicle passes to the series store, and metrics for the detectors', async () => {
    await t.gateway.sink.flush();
    const dir = path.join(t.gateway.config.dataDir, 'spool');
    const lines = (await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))).join('');
    expect(lines).toMatch(/^detections,camera=cam-yard,grid=110105001002001 .*person=\d/m);
    expect(lines).toMatch(/^capture,camera=cam-yard,grid=110105001002001,kind=plate,label=plate .*plate="京A12345"/m);
    expect(lines).toMatch(/^vehicle_pass,camera=cam-yard,class=visitor,grid=110105001002001 plate="京A12345",/m);
    expect(lines).toMatch(
      /^line_crossing,camera=cam-yard,class=person,direction=in,grid=110105001002001,line=gate count=1i?,label="person"/m,
    );
    expect(lines).not.toMatch(/^line_crossing,.*direction=out/m);
    const metrics = await (await fetch(`${t.apiUrl}/metrics`, { headers: { authorization: `Bearer ${READ}` } })).text();
    expect(metrics).toMatch(/gridedge_detector_mean_ms\{detector="plate"\} [1-9]/);
    expect(metrics).toMatch(/gridedge_vision_frames_total\{camera="cam-yard"\} [1-9]/);
    expect(metrics).toMatch(/gridedge_detector_seconds_count\{detector="object"\} [1-9]/);
    expect(metrics).toMatch(/gridedge_detector_wait_seconds_bucket\{le="0.5"\} [1-9]/);
  });
});
