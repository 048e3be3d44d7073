/**
 * The platform's snapshot command through real MQTT: a configured camera's picture comes back
 * in the reply as stored evidence (sha256, a signed link, and the JPEG inline), the same bytes
 * the gateway keeps; a camera that gives no picture is `unavailable` with the reason.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SimulatedPlatform } from '../../sim/platform.js';
import { freePort, type Mosquitto, startMosquitto } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

const SECRET = 'command-secret-0123456789';
const ROOT = 'gridedge/v1/110105001002000/gw-snap';
let mosquitto: Mosquitto;
let gateway: Gateway;
let platform: SimulatedPlatform;
let camera: SimulatedCamera;

beforeAll(async () => {
  mosquitto = await startMosquitto();
  camera = new SimulatedCamera({ id: 'cam-gate', password: 'cam-pass-1', initialScene: 'vehicles' });
  await camera.start();
  const dataDir = await tempDir('snap');
  const dead = await freePort();
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-snap', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { port: 0 },
        upstream: { url: mosquitto.url, commandSecret: SECRET },
        evidence: { inlineMaxBytes: 1_000_000 },
        cameras: [
          { id: 'cam-gate', onvif: camera.xaddr, user: 'admin', password: 'cam-pass-1', fps: 1 },
          { id: 'cam-nosnap', rtsp: camera.rtspUrl, snapshot: `http://127.0.0.1:${dead}/snap.jpg`, fps: 2 },
          { id: 'cam-gone', rtsp: `rtsp://127.0.0.1:${dead}/stream`, snapshot: `http://127.0.0.1:${dead}/snap.jpg` },
        ],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  await gateway.start();
  platform = await SimulatedPlatform.connect(mosquitto.url, SECRET);
}, 60_000);

afterAll(async () => {
  await platform?.close();
  await gateway?.stop();
  await camera?.stop();
  await mosquitto?.stop();
});

describe('the snapshot command', () => {
  it("returns a configured camera's picture as evidence, inline and by link", async () => {
    // The camera's ONVIF connection (which gives its snapshot URL) may still be coming up: asked again until it answers.
    let reply = await platform.command(ROOT, 'snapshot', { cameraId: 'cam-gate' });
    for (let i = 0; i < 20 && !reply.ok; i++) {
      await new Promise((r) => setTimeout(r, 500));
      reply = await platform.command(ROOT, 'snapshot', { cameraId: 'cam-gate' });
    }
    expect(reply, JSON.stringify(reply.error)).toMatchObject({
      ok: true,
      command: 'snapshot',
      evidence: { camera: 'cam-gate', mime: 'image/jpeg' },
    });
    const ev = reply.evidence!;
    const bytes = Buffer.from(ev.inline!, 'base64');
    expect(bytes.subarray(0, 2).toString('hex')).toBe('ffd8'); // a JPEG
    expect(bytes.length).toBe(ev.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(ev.sha256);
    // The same bytes are kept on the gateway behind the signed link.
    const res = await fetch(ev.url!);
    expect(res.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(ev.sha256);
  }, 30_000);

  it("falls back to the camera's latest decoded frame when its snapshot URL fails", async () => {
    let reply = await platform.command(ROOT, 'snapshot', { cameraId: 'cam-nosnap' });
    for (let i = 0; i < 30 && !reply.ok; i++) {
      await new Promise((r) => setTimeout(r, 500));
      reply = await platform.command(ROOT, 'snapshot', { cameraId: 'cam-nosnap' });
    }
    expect(reply, JSON.stringify(reply.error)).toMatchObject({ ok: true, evidence: { camera: 'cam-nosnap', mime: 'image/jpeg' } });
    expect(Buffer.from(reply.evidence!.inline!, 'base64').subarray(0, 2).toString('hex')).toBe('ffd8');
  }, 40_000);

  it('says why when a configured camera gives no picture, and not_found for one that is not configured', async () => {
    const gone = await platform.command(ROOT, 'snapshot', { cameraId: 'cam-gone' });
    expect(gone.error?.code).toBe('unavailable');
    expect(gone.error?.message).toMatch(
      /^camera 'cam-gone' gave no picture: camera cam-gone: its snapshot failed \(.+\) and it has no recent frame$/,
    );
    expect((await platform.command(ROOT, 'snapshot', { cameraId: 'nope' })).error?.code).toBe('not_found');
  }, 30_000);
});
