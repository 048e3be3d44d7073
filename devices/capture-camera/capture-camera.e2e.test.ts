/** The capture camera kind end to end: MQTT captures and GA/T 1400 uploads, watchlists, evidence. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeJpeg, SimulatedCaptureCamera, ViidClient } from '../../sim/capture-camera.js';
import { hostilePayloads, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { isPlate, normalizePlate } from '../../contracts/plate.js';
import { plateColor } from './plates.js';
import { within } from './watchlists.js';

const hour = new Date().getUTCHours();
const hh = (h: number) => String((h + 24) % 24).padStart(2, '0');
// Windows built around the current hour, in UTC, so the test does not depend on when it runs.
const OUTSIDE = `${hh(hour + 2)}:00-${hh(hour + 3)}:00`;
const INSIDE = `${hh(hour - 1)}:00-${hh(hour + 1)}:59`;

let t: TestGateway;
let camera: SimulatedCaptureCamera;
let viid: ViidClient;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  t = await startTestGateway({
    kinds: {
      'capture-camera': {
        timezone: 'UTC',
        blocklist: [{ plate: '京A·12345', reason: 'reported stolen' }],
        muckTrucks: [
          { plate: '京B-99999', allowedHours: OUTSIDE, company: 'Chaoyang Earthworks' },
          { plate: '京B88888', allowedHours: INSIDE },
        ],
        residents: ['京C55555'],
      },
    },
    devices: [
      { id: 'gate-cam-1', kind: 'capture-camera', secret: 'gate-secret-1', grid: '110105001002004' },
      { id: '34020000001190000001', kind: 'capture-camera', secret: 'viid-secret-1' },
    ],
  });
  camera = new SimulatedCaptureCamera({ url: t.brokerUrl, id: 'gate-cam-1', secret: 'gate-secret-1' });
  await camera.connect();
  viid = new ViidClient(t.apiUrl, '34020000001190000001', 'viid-secret-1');
});

afterAll(async () => {
  await camera?.disconnect();
  await t?.stop();
});

async function spooled(measurement: string): Promise<string[]> {
  await t.gateway.spool.flush();
  const dir = path.join(t.gateway.config.dataDir, 'spool');
  const lines: string[] = [];
  for (const f of await readdir(dir)) lines.push(...(await readFile(path.join(dir, f), 'utf8')).split('\n'));
  return lines.filter((l) => l.startsWith(`${measurement},`));
}

describe('plates and hours', () => {
  it('normalizes plate text and colours, and knows a window that wraps midnight', () => {
    expect(normalizePlate('京a·123 45')).toBe('京A12345');
    expect(isPlate('京A12345')).toBe(true);
    expect(isPlate('京AD12345')).toBe(true); // new-energy: 6 after the letter
    expect(isPlate('ABC')).toBe(false);
    expect([plateColor('蓝'), plateColor('5'), plateColor('yellow'), plateColor('紫')]).toEqual(['blue', 'blue', 'yellow', 'other']);
    expect([
      within('23:30', '22:00-06:00'),
      within('05:59', '22:00-06:00'),
      within('06:00', '22:00-06:00'),
      within('12:00', '08:00-18:00'),
    ]).toEqual([true, true, false, true]);
  });
});

describe('capture-camera over MQTT', () => {
  it('raises vehicle.watchlist_plate for a blocked plate, with the capture stored as evidence first', async () => {
    const from = t.incidents.length;
    const image = await camera.capturePlate('京A 12345', { color: '蓝', direction: 'in' });
    const m = await t.waitForIncident('watchlist', (x) => x.category === 'vehicle.watchlist_plate', from);
    expect(m).toMatchObject({
      grid: '110105001002004',
      facts: { plate: '京A12345', reason: 'reported stolen', plateColor: 'blue', direction: 'in', camera: 'gate-cam-1' },
    });
    expect(m.evidence[0]).toMatchObject({ sha256: sha(image), class: 'plate', mime: 'image/jpeg' });
    expect((await t.gateway.evidence.get(sha(image)))?.bytes).toEqual(image);
  });

  it('raises vehicle.muck_truck_off_hours outside the allowed hours only', async () => {
    const from = t.incidents.length;
    await camera.capturePlate('京B99999');
    await camera.capturePlate('京B88888');
    const got = t.incidents.slice(from).map((m) => [m.category, m.facts.plate]);
    expect(got).toEqual([['vehicle.muck_truck_off_hours', '京B99999']]);
    expect(t.incidents.at(-1)!.facts).toMatchObject({ allowedHours: OUTSIDE, company: 'Chaoyang Earthworks' });
  });

  it("records every pass as a resident's or a visitor's, and a face capture as a capture with its image stored", async () => {
    const from = t.incidents.length;
    await camera.capturePlate('京C55555');
    await camera.capturePlate('京D00001');
    const face = await camera.captureFace();
    expect(t.incidents.slice(from)).toEqual([]);
    const passes = await spooled('vehicle_pass');
    expect(passes.some((l) => l.includes('class=resident') && l.includes('plate="京C55555"'))).toBe(true);
    expect(passes.some((l) => l.includes('class=visitor') && l.includes('plate="京D00001"'))).toBe(true);
    const captures = await spooled('capture');
    expect(captures.some((l) => l.includes('subject=face') && l.includes(sha(face)))).toBe(true);
    expect((await t.gateway.evidence.get(sha(face)))?.class).toBe('face');
  });

  it('refuses an image that is not JPEG or PNG, a plate capture without a plate, and hostile payloads', async () => {
    const before = t.gateway.counters.total('messages_rejected_total');
    await camera.publish(camera.topic('capture'), JSON.stringify({ subject: 'face', image: Buffer.from('GIF89a....').toString('base64') }));
    await camera.publish(camera.topic('capture'), JSON.stringify({ subject: 'plate', image: fakeJpeg().toString('base64') }));
    await camera.publish(camera.topic('capture'), JSON.stringify({ subject: 'face', image: '!!!not base64!!!' }));
    let sent = 3;
    for (const channel of ['capture', 'status'] as const) {
      for (const [, payload] of hostilePayloads()) {
        await camera.publish(camera.topic(channel), payload);
        sent++;
      }
    }
    expect(t.gateway.counters.total('messages_rejected_total') - before).toBe(sent);
    const details = t.gateway.rejections.latest(100, 'gate-cam-1').map((r) => r.detail);
    expect(details).toContain('image is neither JPEG nor PNG');
    expect(details).toContain('plate: missing (a plate capture must carry the plate text)');
    const from = t.incidents.length;
    await camera.capturePlate('京A12345');
    await t.waitForIncident('still serving', (m) => m.category === 'vehicle.watchlist_plate', from);
  });
});

describe('capture-camera over GA/T 1400', () => {
  it('asks for Digest credentials, refuses wrong ones, and registers the right device', async () => {
    const bare = await fetch(`${t.apiUrl}/VIID/System/Register`, {
      method: 'POST',
      headers: { 'content-type': 'application/VIID+JSON' },
      body: JSON.stringify({ RegisterObject: { DeviceID: viid.deviceId } }),
    });
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Digest realm="gridedge-viid", qop="auth", algorithm=MD5, nonce="/);
    expect((await new ViidClient(t.apiUrl, viid.deviceId, 'wrong-password').register()).status).toBe(401);
    const r = await viid.register();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ResponseStatusObject: { ID: viid.deviceId, StatusCode: 0, StatusString: 'OK' } });
    expect((await viid.keepalive()).body).toMatchObject({ ResponseStatusObject: { StatusCode: 0 } });
    const other = await viid.post('/VIID/System/Register', { RegisterObject: { DeviceID: 'gate-cam-1' } });
    expect(other.status).toBe(400);
  });

  it('takes motor vehicles object by object: good ones raise and store, bad ones are refused in the status list', async () => {
    const from = t.incidents.length;
    const image = fakeJpeg('viid-plate');
    const res = await viid.postVehicles([
      viid.vehicle('京A12345', { id: 'V1', image }),
      viid.vehicle('京A12345', { id: 'V2', image: Buffer.from('not an image at all') }),
      viid.vehicle('京A12345', { id: 'V3', deviceId: 'gate-cam-1' }),
      { MotorVehicleID: 'V4', DeviceID: viid.deviceId },
    ]);
    expect(res.status).toBe(200);
    const statuses = (
      res.body.ResponseStatusListObject as { ResponseStatusObject: Array<{ ID: string; StatusCode: number; StatusString: string }> }
    ).ResponseStatusObject;
    expect(statuses.map((s) => [s.ID, s.StatusCode])).toEqual([
      ['V1', 0],
      ['V2', 8],
      ['V3', 8],
      ['V4', 8],
    ]);
    expect(statuses[2]!.StatusString).toBe('DeviceID is not the authenticated device nor one of its APEs');
    const m = await t.waitForIncident(
      'watchlist via VIID',
      (x) => x.category === 'vehicle.watchlist_plate' && x.evidence.some((e) => e.sha256 === sha(image)),
      from,
    );
    expect(m.facts).toMatchObject({ plateColor: 'blue', camera: viid.deviceId });
    expect(t.gateway.rejections.latest(10, viid.deviceId).length).toBe(3);
  });

  it('takes faces, storing each image as face evidence', async () => {
    const image = fakeJpeg('viid-face');
    const res = await viid.postFaces([viid.face({ id: 'F1', image })]);
    expect(
      (res.body.ResponseStatusListObject as { ResponseStatusObject: Array<{ StatusCode: number }> }).ResponseStatusObject[0]!.StatusCode,
    ).toBe(0);
    expect((await t.gateway.evidence.get(sha(image)))?.class).toBe('face');
  });

  it('refuses an oversized upload', async () => {
    const huge = viid.face({ image: Buffer.concat([fakeJpeg(), Buffer.alloc(9 * 1024 * 1024)]) });
    const res = await viid.postFaces([huge]);
    expect(res.status).toBe(413);
  });
});
