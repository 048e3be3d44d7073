/**
 * Captures upstream (gridedge.capture/v1) with real parts: the simulated camera's street scene
 * through the gateway's own detectors, and a smart capture camera's own plate captures over
 * MQTT, reach the platform on mosquitto, valid against the committed schema, one per track,
 * their images pushed as evidence (masked) and reassembled by sha256.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureMessage } from '../../contracts/capture.js';
import { createLogger } from '../../core/log.js';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SimulatedCaptureCamera } from '../../sim/capture-camera.js';
import { type Mosquitto, startMosquitto, waitFor } from '../helpers/servers.js';
import { PHOTOS } from '../helpers/photos.js';
import { tempDir } from '../helpers/tmp.js';
import { EvidenceCollector, UpstreamSubscriber } from '../helpers/upstream.js';

const GRID = '110105001002001';
const schema = JSON.parse(readFileSync(new URL('../../schemas/capture.v1.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

let mosquitto: Mosquitto;
let cam: SimulatedCamera;
let gateway: Gateway;
let feed: UpstreamSubscriber;
let collector: EvidenceCollector;
let brokerUrl: string;

beforeAll(async () => {
  mosquitto = await startMosquitto();
  cam = new SimulatedCamera({ id: 'cam-gate', fps: 4, location: GRID, initialScene: 'street' });
  await cam.start();
  feed = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-cap/capture');
  collector = await EvidenceCollector.connect(mosquitto.url);
  const dataDir = await tempDir('captures');
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-cap', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0 },
        upstream: { url: mosquitto.url },
        vision: { workers: 1, trackMissedFrames: 2 },
        devices: [{ id: 'gate-lpr', kind: 'capture-camera', grid: GRID, secret: 'lpr-secret-1' }],
        cameras: [{ id: 'cam-gate', grid: GRID, rtsp: cam.rtspUrl, fps: 2, width: 640, height: 360, detect: { plate: {}, object: {} } }],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  brokerUrl = `mqtt://127.0.0.1:${(await gateway.start()).broker}`;
}, 60_000);

afterAll(async () => {
  await feed?.close();
  await collector?.close();
  await gateway?.stop();
  await cam?.stop();
  await mosquitto?.stop();
});

function captures(): CaptureMessage[] {
  return feed.json<CaptureMessage>('/capture');
}

describe('captures upstream', () => {
  it("sends each track's best shot from the gateway's detectors once, schema-valid, with its images", async () => {
    // A track ends (and is captured) when its object leaves: the scene cuts away and back every few seconds.
    const scenes = ['people', 'street', 'plate', 'street'] as const;
    let next = 0;
    const cuts = setInterval(() => cam.show(scenes[next++ % scenes.length]!), 4000);
    const got = await waitFor(
      'a plate and a person captured',
      () => {
        const all = captures().filter((c) => c.source === 'detector');
        return all.some((c) => c.subject === 'plate') && all.some((c) => c.subject === 'person') ? all : undefined;
      },
      60_000,
    ).finally(() => clearInterval(cuts));
    for (const c of got) expect(validate(c), JSON.stringify(validate.errors)).toBe(true);
    // One per track: no track id twice, and as many as the gateway recorded.
    const tracks = got.map((c) => c.track);
    expect(new Set(tracks).size).toBe(tracks.length);
    const plate = got.find((c) => c.subject === 'plate' && c.plate)!;
    expect(plate).toMatchObject({ camera: 'cam-gate', grid: GRID, plate: { text: '京A12345', type: 'small' } });
    expect(plate.crop).toMatchObject({ mime: 'image/jpeg', masked: true, delivery: { sink: 'mqtt' } });
    expect(plate.scene).toMatchObject({ mime: 'image/jpeg', width: 640, height: 360 });
    expect(plate.box!.w).toBeGreaterThan(10);
    // The images are pushed too, and arrive as named.
    for (const sha of [plate.crop!.sha256, plate.scene!.sha256])
      expect((await collector.waitFor(sha, 30_000)).bytes.length).toBeGreaterThan(0);
    const ids = got.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 90_000);

  it("sends a smart camera's own plate capture once, folding its repeats", async () => {
    const lpr = new SimulatedCaptureCamera({ url: brokerUrl, id: 'gate-lpr', secret: 'lpr-secret-1' });
    await lpr.connect();
    try {
      // Cameras repeat a plate while the car waits at the barrier: one track, one capture.
      for (let i = 0; i < 3; i++) await lpr.capturePlate('沪B·D12345', { color: 'green', direction: 'in', image: PHOTOS[1] });
      const c = await waitFor(
        'camera capture',
        () => captures().find((m) => m.source === 'camera' && m.plate?.text === '沪BD12345'),
        20_000,
      );
      expect(validate(c), JSON.stringify(validate.errors)).toBe(true);
      expect(c).toMatchObject({ camera: 'gate-lpr', subject: 'plate', plate: { color: 'green' }, direction: 'in' });
      await new Promise((r) => setTimeout(r, 1000));
      expect(captures().filter((m) => m.plate?.text === '沪BD12345')).toHaveLength(1);
      expect(gateway.counters.get('captures_folded_total', { camera: 'gate-lpr' })).toBe(2);
      // Its face captures are each a face: two people in a row are two captures.
      await lpr.captureFace(PHOTOS[0]);
      await lpr.captureFace(PHOTOS[2]);
      await waitFor(
        'two faces',
        () => (captures().filter((m) => m.camera === 'gate-lpr' && m.subject === 'face').length === 2 ? true : undefined),
        20_000,
      );
    } finally {
      lpr.kill();
    }
  }, 30_000);
});
