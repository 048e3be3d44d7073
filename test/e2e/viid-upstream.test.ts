/**
 * The gateway as a GA/T 1400 client of the city's 视图库 (a simulated one that records what it
 * receives): it registers and keeps alive; a capture camera's plate and face uploads reach it as
 * MotorVehicles and Faces with their pictures, byte for byte as they left the gateway; captures
 * taken during an outage wait on disk and arrive in order when the 视图库 is back; a 视图库 that
 * forgot the registration gets a Register before the next object; an object it refuses is dropped
 * and counted without holding up the next; and captures queued when the gateway is killed with
 * kill -9 (the 视图库 down) are all delivered after it restarts.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViidClient } from '../../sim/capture-camera.js';
import { SimulatedUpperViid } from '../../sim/viid-upper.js';
import { gridedge, type Run } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHOTOS } from '../helpers/photos.js';
import { freePort, waitFor } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const GATEWAY_ID = '11010500002000000001';
const CAMERA = '34020000001190000021';
const GRID = '110105001002003';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let upper: SimulatedUpperViid;
let t: TestGateway;
let cam: ViidClient;

const sub = (type: string, image: Buffer) => ({ ImageID: `${type}-img`, Type: type, FileFormat: 'Jpeg', Data: image.toString('base64') });
function vehicle(plate: string, id: string, scene = PHOTOS[3]!) {
  const v = cam.vehicle(plate, { id, image: PHOTOS[2]! });
  v.SubImageList = { SubImageInfoObject: [sub('02', PHOTOS[2]!), sub('01', scene)] };
  return v;
}
const plates = () => upper.received.filter((r) => r.resource === 'MotorVehicles').map((r) => r.object.PlateNo);

beforeAll(async () => {
  upper = new SimulatedUpperViid({ [GATEWAY_ID]: 'city-viid-password' });
  upper.strictApes = true; // objects from an undeclared APE are refused, as many 视图库 do
  await upper.start();
  t = await startTestGateway({
    gateway: { id: 'gw-viid', grid: GRID },
    evidence: { privacy: { allow: ['face', 'plate'] } },
    captures: { viid: { url: upper.url, deviceId: GATEWAY_ID, password: 'city-viid-password', keepaliveSeconds: 5 } },
    devices: [{ id: CAMERA, kind: 'capture-camera', secret: 'viid-secret-21' }],
  });
  cam = new ViidClient(t.apiUrl, CAMERA, 'viid-secret-21');
  await cam.register();
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await upper?.stop();
});

describe('captures delivered to the city 视图库', () => {
  it('registers with its DeviceID and delivers a plate as a MotorVehicle with its crop and scene', async () => {
    await waitFor('registered', () => (upper.registrations > 0 ? true : undefined), 10_000);
    await cam.postVehicles([vehicle('京A12345', 'MV-UP-1')]);
    const got = await waitFor('the vehicle upstream', () => upper.received.find((r) => r.object.PlateNo === '京A12345'), 10_000);
    expect(got.from).toBe(GATEWAY_ID);
    const o = got.object as {
      MotorVehicleID: string;
      SourceID: string;
      DeviceID: string;
      PlateColor: string;
      HasPlate: string;
      PassTime: string;
    };
    expect(o).toMatchObject({ DeviceID: CAMERA, PlateColor: '5', HasPlate: '1', InfoKind: 1 });
    expect(o.MotorVehicleID).toMatch(/^\d{48}$/);
    expect(o.SourceID).toMatch(new RegExp(`^${CAMERA}02\\d{19}$`));
    expect(o.MotorVehicleID.startsWith(o.SourceID)).toBe(true);
    expect(o.PassTime).toMatch(/^\d{14}$/);
    const images = (got.object.SubImageList as { SubImageInfoObject: Array<{ Type: string; Data: string }> }).SubImageInfoObject;
    expect(images.map((i) => i.Type)).toEqual(['02', '14']);
    expect(sha(Buffer.from(images[0]!.Data, 'base64'))).toBe(sha(PHOTOS[2]!));
    expect(sha(Buffer.from(images[1]!.Data, 'base64'))).toBe(sha(PHOTOS[3]!));
    await cam.postFaces([cam.face({ id: 'F-UP-1', image: PHOTOS[1]! })]);
    const face = await waitFor('the face upstream', () => upper.received.find((r) => r.resource === 'Faces'), 10_000);
    expect((face.object.SubImageList as { SubImageInfoObject: Array<{ Type: string }> }).SubImageInfoObject[0]!.Type).toBe('11');
    expect(t.gateway.health().viid).toMatchObject({ registered: true, deviceId: GATEWAY_ID });
    // It declared the collecting devices its objects name: itself and the 20-digit camera.
    expect([...upper.apes.keys()].sort()).toEqual([CAMERA, GATEWAY_ID].sort());
    expect(upper.apes.get(CAMERA)).toMatchObject({ PlaceCode: GRID.slice(0, 6), IsOnline: '1' });
  });

  it('keeps captures on disk through an outage and delivers them in order when the 视图库 is back', async () => {
    await upper.stop();
    for (const p of ['京A10001', '京A10002', '京A10003']) await cam.postVehicles([vehicle(p, `MV-${p}`)]);
    await waitFor('queued', () => (t.gateway.health().viid!.pending >= 3 ? true : undefined), 10_000);
    expect(t.gateway.health().problems.join('\n')).toMatch(/视图库/);
    await upper.start();
    await waitFor('all three', () => (['京A10001', '京A10002', '京A10003'].every((p) => plates().includes(p)) ? true : undefined), 45_000);
    const order = plates().filter((p) => String(p).startsWith('京A1000'));
    expect(order).toEqual(['京A10001', '京A10002', '京A10003']);
  }, 60_000);

  it('registers again when the 视图库 forgot it, and drops an object it refuses without holding up the next', async () => {
    upper.forgetRegistrations();
    await cam.postVehicles([vehicle('京A20001', 'MV-R1')]);
    const got = await waitFor('delivered after a new Register', () => upper.received.find((r) => r.object.PlateNo === '京A20001'), 45_000);
    const since = upper.log.slice(upper.log.lastIndexOf('forget'));
    const delivered = since.indexOf(`object ${got.id}`);
    expect(since.slice(0, delivered)).toContain('register');
    upper.refuse = (o) => (o.PlateNo === '京A30001' ? 'PlateNo not in the plate dictionary' : undefined);
    await cam.postVehicles([vehicle('京A30001', 'MV-X1')]);
    await cam.postVehicles([vehicle('京A30002', 'MV-X2')]);
    await waitFor('the next one', () => (plates().includes('京A30002') ? true : undefined), 20_000);
    expect(plates()).not.toContain('京A30001');
    expect(t.gateway.health().viid!.dropped.undeliverable).toBe(1);
    expect(t.gateway.counters.total('viid_dropped_total')).toBe(1);
    upper.refuse = undefined;
  }, 90_000);
});

describe('captures for the 视图库 and privacy', () => {
  it('masks faces in what goes to the 视图库 unless evidence.privacy allows them', async () => {
    const up = new SimulatedUpperViid({ [GATEWAY_ID]: 'city-viid-password' });
    await up.start();
    const g = await startTestGateway({
      captures: { viid: { url: up.url, deviceId: GATEWAY_ID, password: 'city-viid-password', keepaliveSeconds: 5 } },
      devices: [{ id: CAMERA, kind: 'capture-camera', secret: 'viid-secret-21' }],
    });
    try {
      const c = new ViidClient(g.apiUrl, CAMERA, 'viid-secret-21');
      await c.register();
      await c.postFaces([c.face({ id: 'F-PRIV', image: PHOTOS[0]! })]);
      const got = await waitFor('the face upstream', () => up.received.find((r) => r.resource === 'Faces'), 30_000);
      const data = (got.object.SubImageList as { SubImageInfoObject: Array<{ Data: string }> }).SubImageInfoObject[0]!.Data;
      expect(sha(Buffer.from(data, 'base64'))).not.toBe(sha(PHOTOS[0]!));
      expect(g.gateway.counters.total('evidence_masked_total')).toBeGreaterThan(0);
    } finally {
      await g.stop();
      await up.stop();
    }
  }, 60_000);
});

describe('captures for the 视图库 across kill -9', () => {
  it('delivers every capture queued while the 视图库 was down, after the gateway was killed and restarted', async () => {
    const up = new SimulatedUpperViid({ [GATEWAY_ID]: 'city-viid-password' });
    await up.start();
    await up.stop(); // its port is known; it is down
    const dir = await tempDir('viid-crash');
    const api = await freePort();
    const file = path.join(dir, 'gw.yaml');
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-viid-crash',
        `  grid: "${GRID}"`,
        '  dataDir: ./data',
        '  logLevel: warn',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${await freePort()}`,
        'api:',
        '  host: 127.0.0.1',
        `  port: ${api}`,
        'evidence:',
        '  privacy: { allow: [face, plate] }',
        'captures:',
        '  viid:',
        `    url: ${up.url}`,
        `    deviceId: "${GATEWAY_ID}"`,
        '    password: city-viid-password',
        '    keepaliveSeconds: 5',
        'devices:',
        `  - { id: "${CAMERA}", kind: capture-camera, secret: viid-secret-21 }`,
      ].join('\n'),
    );
    const base = `http://127.0.0.1:${api}`;
    const start = async (): Promise<Run> => {
      const run = gridedge(['start', '--config', file], {}, 120_000);
      await waitFor(
        'API up',
        () =>
          fetch(`${base}/healthz`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        20_000,
      );
      return run;
    };
    let run: Run | undefined;
    try {
      run = await start();
      const c = new ViidClient(base, CAMERA, 'viid-secret-21');
      await c.register();
      const sent = ['京B00001', '京B00002', '京B00003', '京B00004', '京B00005'];
      for (const p of sent) {
        const v = c.vehicle(p, { id: `MV-${p}`, image: PHOTOS[2]! });
        expect((await c.postVehicles([v])).status).toBe(200);
      }
      // Each capture is on disk before the camera's answer (the queue writes it durably): kill now.
      run.kill('SIGKILL');
      await run.code;
      await up.start();
      run = await start();
      await waitFor('all delivered', () => (sent.every((p) => up.received.some((r) => r.object.PlateNo === p)) ? true : undefined), 60_000);
      expect(up.received.filter((r) => String(r.object.PlateNo).startsWith('京B')).map((r) => r.object.PlateNo)).toEqual(sent);
      expect(up.duplicates).toBe(0);
    } finally {
      run?.kill('SIGTERM');
      await run?.code;
      await up.stop();
    }
  }, 120_000);
});
