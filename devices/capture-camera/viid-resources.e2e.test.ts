/**
 * GA/T 1400 resources beyond faces and plates, in a running gateway: UnRegister (the camera's
 * offline incident at once, resolved when it registers again), the server's time for 校时 (also
 * read by Debian's curl), every sub-image of an object read by its type (the plate crop and the
 * vehicle's scene both kept), Persons and NonMotorVehicles as person and vehicle captures, a lower
 * system's APEs declared so their objects are its own (an undeclared one refused), and
 * SubscribeNotifications carrying faces and vehicles, answered per notification.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeJpeg, ViidClient } from '../../sim/capture-camera.js';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { waitFor } from '../../test/helpers/servers.js';

const CAMERA = '34020000001190000011';
const SYSTEM = '34020000005030000001'; // a lower 视图库 (type 503)
const APE = '34020000001190000099';
let t: TestGateway;
let cam: ViidClient;
let lower: ViidClient;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
type Statuses = { ResponseStatusListObject: { ResponseStatusObject: Array<{ ID: string; StatusCode: number; StatusString: string }> } };
const codes = (body: unknown) => (body as Statuses).ResponseStatusListObject.ResponseStatusObject.map((s) => [s.ID, s.StatusCode]);
const sub = (type: string, image: Buffer, id = type) => ({ ImageID: id, Type: type, FileFormat: 'Jpeg', Data: image.toString('base64') });

beforeAll(async () => {
  t = await startTestGateway({
    kinds: {
      'capture-camera': {
        fetchStoragePath: true,
        blocklist: [
          { plate: '京A·12345', reason: 'reported stolen' },
          { plate: '京B·54321', reason: 'wanted' },
          { plate: '京C·99999', reason: 'wanted' },
        ],
        viidServerId: '11010500005030000001',
      },
    },
    devices: [
      { id: CAMERA, kind: 'capture-camera', secret: 'viid-secret-11' },
      { id: SYSTEM, kind: 'capture-camera', secret: 'viid-secret-lower' },
    ],
  });
  cam = new ViidClient(t.apiUrl, CAMERA, 'viid-secret-11');
  lower = new ViidClient(t.apiUrl, SYSTEM, 'viid-secret-lower');
  await cam.register();
}, 30_000);

afterAll(async () => {
  await t?.stop();
});

describe('GA/T 1400 system resources', () => {
  it("raises the camera's offline incident when it unregisters, and resolves it when it registers again", async () => {
    const from = t.incidents.length;
    expect((await cam.unregister()).body).toMatchObject({ ResponseStatusObject: { ID: CAMERA, StatusCode: 0 } });
    const off = await t.waitForIncident('offline', (x) => x.category === 'device.offline' && x.devices[0]?.id === CAMERA, from);
    expect(off.facts.reason).toBe('it unregistered (GA/T 1400 UnRegister)');
    expect((await cam.post('/VIID/System/UnRegister', { UnRegisterObject: { DeviceID: SYSTEM } })).status).toBe(400);
    await cam.register();
    await t.waitForIncident('back', (x) => x.id === off.id && x.status === 'resolved', from);
  });

  it("gives the server's time, China's local time, to a signed-in device (curl --digest too)", async () => {
    const r = await cam.get('/VIID/System/Time');
    expect(r.status).toBe(200);
    const st = r.body.SystemTimeObject as { VIIDServerID: string; LocalTime: string; TimeZone: string };
    expect(st).toMatchObject({ VIIDServerID: '11010500005030000001', TimeMode: '1', TimeZone: 'Asia/Shanghai' });
    expect(
      Math.abs(Date.parse(`${st.LocalTime.replace(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/, '$1-$2-$3T$4:$5:$6')}+08:00`) - Date.now()),
    ).toBeLessThan(5000);
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '--digest',
      '-u',
      `${CAMERA}:viid-secret-11`,
      `${t.apiUrl}/VIID/System/Time`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ SystemTimeObject: { VIIDServerID: '11010500005030000001' } });
    expect((await new ViidClient(t.apiUrl, CAMERA, 'wrong').get('/VIID/System/Time')).status).toBe(401);
  });
});

describe('GA/T 1400 objects', () => {
  it('reads every sub-image of a vehicle by its type: the plate crop meets the watchlist, the scene goes with the capture', async () => {
    const from = t.incidents.length;
    const plate = fakeJpeg('plate-02');
    const scene = fakeJpeg('scene-01');
    const v = cam.vehicle('京A12345', { id: 'MV-SUB' });
    v.SubImageList = { SubImageInfoObject: [sub('01', scene), sub('02', plate), sub('14', Buffer.from('not a picture'))] };
    expect(codes((await cam.postVehicles([v])).body)).toEqual([['MV-SUB', 0]]);
    const m = await t.waitForIncident('watchlist', (x) => x.category === 'vehicle.watchlist_plate', from);
    expect(m.evidence.map((e) => e.sha256)).toContain(sha(plate));
    const cap = await waitFor('capture', () =>
      t.gateway.captures.recent().find((c) => c.camera === CAMERA && c.plate?.text === '京A12345'),
    );
    expect(cap.crop!.bytes).toBe(plate.length);
    expect(cap.scene!.bytes).toBe(scene.length);
  });

  it('takes Persons and NonMotorVehicles as person and vehicle captures, their times read as China time', async () => {
    const person = fakeJpeg('person-10');
    const ebike = fakeJpeg('ebike-12');
    const p = await cam.post('/VIID/Persons', {
      PersonListObject: {
        PersonObject: [
          { PersonID: 'P1', DeviceID: CAMERA, ShotTime: ViidClient.time(), SubImageList: { SubImageInfoObject: [sub('10', person)] } },
        ],
      },
    });
    const n = await cam.post('/VIID/NonMotorVehicles', {
      NonMotorVehicleListObject: {
        NonMotorVehicleObject: [
          {
            NonMotorVehicleID: 'N1',
            DeviceID: CAMERA,
            AppearTime: ViidClient.time(),
            SubImageList: { SubImageInfoObject: [sub('12', ebike)] },
          },
          { NonMotorVehicleID: 'N2', DeviceID: CAMERA },
        ],
      },
    });
    expect(codes(p.body)).toEqual([['P1', 0]]);
    expect(codes(n.body)).toEqual([
      ['N1', 0],
      ['N2', 8],
    ]);
    expect((await t.gateway.evidence.get(sha(person)))?.class).toBe('person');
    expect((await t.gateway.evidence.get(sha(ebike)))?.class).toBe('vehicle');
    const caps = await waitFor('captures', () => {
      const r = t.gateway.captures.recent().filter((c) => c.camera === CAMERA && (c.subject === 'person' || c.subject === 'vehicle'));
      return r.length === 2 ? r : undefined;
    });
    for (const c of caps) expect(Math.abs(Date.parse(c.firstAt) - Date.now())).toBeLessThan(10_000);
  });

  it("accepts a lower system's objects from the APEs it declared, and refuses one it did not", async () => {
    await lower.register();
    const apes = await lower.post('/VIID/APEs', {
      APEListObject: {
        APEObject: [
          {
            ApeID: APE,
            Name: '3号楼东门',
            Model: 'DS-2CD7A46G0',
            IPAddr: '10.0.3.21',
            Port: 80,
            Longitude: 116.4,
            Latitude: 39.91,
            IsOnline: '1',
          },
          { ApeID: 'not-a-code', Name: 'bad' },
        ],
      },
    });
    expect(codes(apes.body)).toEqual([
      [APE, 0],
      ['not-a-code', 8],
    ]);
    const face = (id: string, device: string) => ({
      FaceID: id,
      DeviceID: device,
      FaceAppearTime: ViidClient.time(),
      SubImageList: { SubImageInfoObject: [sub('11', fakeJpeg(id)), sub('14', fakeJpeg(`${id}-scene`))] },
    });
    const r = await lower.postFaces([face('F-APE', APE), face('F-OTHER', '34020000001190000777')]);
    expect(codes(r.body)).toEqual([
      ['F-APE', 0],
      ['F-OTHER', 8],
    ]);
    expect((await t.gateway.evidence.get(sha(fakeJpeg('F-APE'))))?.class).toBe('face');
  });

  it('reads SubscribeNotifications: the faces and vehicles each carries, answered once per notification', async () => {
    const from = t.incidents.length;
    const vehicle = lower.vehicle('京B54321', { id: 'MV-N1', deviceId: APE });
    const r = await lower.post('/VIID/SubscribeNotifications', {
      SubscribeNotificationListObject: {
        SubscribeNotificationObject: [
          {
            NotificationID: 'N-1',
            SubscribeID: 'S-1',
            Title: 'gate vehicles',
            TriggerTime: ViidClient.time(),
            InfoIDs: 'MV-N1',
            MotorVehicleObjectList: { MotorVehicleObject: [vehicle] },
          },
          {
            NotificationID: 'N-2',
            SubscribeID: 'S-2',
            FaceObjectList: {
              FaceObject: [{ FaceID: 'F-N2', DeviceID: APE, SubImageList: { SubImageInfoObject: [sub('11', fakeJpeg('F-N2'))] } }],
            },
          },
          { NotificationID: 'N-3', SubscribeID: 'S-3', FaceObjectList: { FaceObject: [{ FaceID: 'F-N3', DeviceID: APE }] } },
          { NotificationID: 'N-4', SubscribeID: 'S-4' },
        ],
      },
    });
    expect(codes(r.body)).toEqual([
      ['N-1', 0],
      ['N-2', 0],
      ['N-3', 8],
      ['N-4', 8],
    ]);
    await t.waitForIncident(
      'watchlist from a notification',
      (x) => x.category === 'vehicle.watchlist_plate' && x.devices[0]?.id === SYSTEM,
      from,
    );
    expect((await t.gateway.evidence.get(sha(fakeJpeg('F-N2'))))?.class).toBe('face');
    expect(t.gateway.rejections.latest(20, SYSTEM).some((x) => x.channel === '/VIID/SubscribeNotifications')).toBe(true);
  });
});

describe('GA/T 1400 sub-images by StoragePath', () => {
  it('fetches a picture given only by its StoragePath, and says why one cannot be had', async () => {
    const served = fakeJpeg('stored-on-the-camera');
    const server = createServer((req, res) => {
      if (req.url === '/pic/1.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(served);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const v = (id: string, where: string) => ({
        ...cam.vehicle('京A66601', { id }),
        SubImageList: { SubImageInfoObject: [{ ImageID: `${id}-1`, Type: '02', FileFormat: 'Jpeg', StoragePath: where }] },
      });
      const r = await cam.postVehicles([v('SP-1', `${base}/pic/1.jpg`), v('SP-2', `${base}/pic/gone.jpg`), v('SP-3', 'ftp://x/y')]);
      const statuses = (r.body as Statuses).ResponseStatusListObject.ResponseStatusObject;
      expect(statuses.map((s) => [s.ID, s.StatusCode])).toEqual([
        ['SP-1', 0],
        ['SP-2', 8],
        ['SP-3', 8],
      ]);
      expect(statuses[1]!.StatusString).toBe('SubImageList: StoragePath answered HTTP 404');
      expect(statuses[2]!.StatusString).toBe('SubImageList: StoragePath is not an http(s) URL');
      expect((await t.gateway.evidence.get(sha(served)))?.class).toBe('plate');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('GA/T 1400 images', () => {
  it('stores each posted image as a scene, and reads the objects seen in it, the image their picture', async () => {
    const from = t.incidents.length;
    const picture = fakeJpeg('image-with-a-car');
    const info = (id: string, device = CAMERA) => ({
      ImageID: id,
      InfoKind: 1,
      ImageSource: '02',
      DeviceID: device,
      ShotTime: ViidClient.time(),
      FileFormat: 'Jpeg',
    });
    const r = await cam.post('/VIID/Images', {
      ImageListObject: {
        ImageObject: [
          {
            ImageInfo: info('IMG-1'),
            Data: picture.toString('base64'),
            MotorVehicleList: {
              MotorVehicleObject: [{ MotorVehicleID: 'MV-IMG', DeviceID: CAMERA, PlateNo: '京C99999', PlateColor: '5' }],
            },
          },
          { ImageInfo: info('IMG-2'), Data: fakeJpeg('plain picture').toString('base64') },
          { ImageInfo: info('IMG-3', '34020000001190000777'), Data: fakeJpeg('x').toString('base64') },
          { ImageInfo: info('IMG-4'), Data: 'bm90IGFuIGltYWdl' },
        ],
      },
    });
    expect(codes(r.body)).toEqual([
      ['IMG-1', 0],
      ['IMG-2', 0],
      ['IMG-3', 8],
      ['IMG-4', 8],
    ]);
    // Stored once by its content: the scene, and the plate's picture too.
    expect(await t.gateway.evidence.get(sha(picture))).toBeDefined();
    expect((await t.gateway.evidence.get(sha(fakeJpeg('plain picture'))))?.class).toBe('scene');
    const m = await t.waitForIncident(
      'watchlist from an image',
      (x) => x.category === 'vehicle.watchlist_plate' && x.devices[0]?.id === CAMERA && x.facts.plate === '京C99999',
      from,
    );
    expect(m.evidence.some((e) => e.sha256 === sha(picture))).toBe(true);
  });
});

describe('GA/T 1400 resources under fuzzing', () => {
  it('answer any JSON a signed-in device posts with a GA/T 1400 status, never a 5xx', async () => {
    const routes = [
      '/VIID/Images',
      '/VIID/Faces',
      '/VIID/Persons',
      '/VIID/MotorVehicles',
      '/VIID/NonMotorVehicles',
      '/VIID/SubscribeNotifications',
      '/VIID/APEs',
      '/VIID/System/UnRegister',
    ];
    const wrap = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ FaceListObject: fc.record({ FaceObject: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }) }) }),
      fc.record({
        SubscribeNotificationListObject: fc.record({
          SubscribeNotificationObject: fc.array(
            fc.record({
              NotificationID: fc.string(),
              MotorVehicleObjectList: fc.record({ MotorVehicleObject: fc.array(fc.jsonValue({ maxDepth: 2 })) }),
            }),
            { maxLength: 3 },
          ),
        }),
      }),
      fc.record({ APEListObject: fc.record({ APEObject: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }) }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), wrap, async (route, body) => {
        const r = await cam.post(route, body);
        expect(r.status).toBeLessThan(500);
        expect(JSON.stringify(r.body)).toMatch(/ResponseStatus/);
      }),
      { numRuns: 60 },
    );
    // Still registered and served after all of it.
    expect((await cam.keepalive()).body).toMatchObject({ ResponseStatusObject: { StatusCode: 0 } });
  }, 60_000);
});
