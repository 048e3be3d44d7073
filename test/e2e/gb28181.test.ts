/**
 * GB/T 28181 in a running gateway: a simulated NVR registers, its channels become cameras with
 * the names its catalog gives (GB2312) and the grid cells the config gives; a channel with
 * detectors streams the gate scene (H.264 PS over RTP) into the plate reader, whose blocklisted
 * plate raises vehicle.watchlist_plate; an intrusion alarm from a channel raises
 * camera.intrusion with a snapshot of it; a channel the catalog says is off raises
 * camera.video_lost; a device that stops its keepalives goes device.offline. Upward, the gateway
 * registers to a simulated city platform, which finds the channels and the RTSP camera (under an
 * id the gateway allocated and kept) in its catalog, plays the camera, and gets the alarm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { answerInvites } from '../../sim/gb28181/media.js';
import { BUILTIN_SCENES, renderScenes } from '../../sim/camera/scenes.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, NVR_ID } from '../helpers/gb28181.js';
import { readFile } from 'node:fs/promises';
import { RtspStream } from '../../sim/camera/rtsp.js';
import { SimulatedPlatform } from '../../sim/gb28181/platform.js';
import { type Frame, RtspFrameSource } from '../../devices/camera/frames.js';
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const GATE = '110105001002004';
let t: TestGateway;
let nvr: SimulatedGbDevice;
let scene = 'street';
let platform: SimulatedPlatform;
let rtsp: RtspStream;
const PLATFORM_ID = '11000000002000000001';
/** The first id of the gateway's domain for its own cameras (type 132, serial 1). */
const LOBBY_GB_ID = '11010500011320000001';

async function api<T>(p: string): Promise<T> {
  const res = await fetch(`${t.apiUrl}${p}`, { headers: { authorization: `Bearer ${READ}` } });
  expect(res.status, p).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  platform = new SimulatedPlatform({ sipId: PLATFORM_ID, lower: { id: GATEWAY_SIP_ID, password: 'city-gave-us-this' } });
  const platformPort = await platform.start();
  const scenes = await renderScenes({ street: BUILTIN_SCENES.street!, plate: BUILTIN_SCENES.plate! }, 640, 360);
  rtsp = new RtspStream({ host: '127.0.0.1', port: 0, path: '/stream', fps: 5, codec: 'h264', firstScene: scenes.get('street')!.files });
  await rtsp.start();
  t = await startTestGateway({
    cameras: [{ id: 'lobby', name: '3号楼大堂', rtsp: rtsp.url, fps: 1 }],
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    kinds: { 'capture-camera': { blocklist: [{ plate: '京A·12345', reason: 'reported stolen' }] } },
    vision: { workers: 1, trackMissedFrames: 2 },
    gb28181: {
      sipId: GATEWAY_SIP_ID,
      host: '127.0.0.1',
      port: 0,
      publicHost: '127.0.0.1',
      keepaliveSeconds: 5,
      media: { portMin: 33000, portMax: 33999 },
      devices: [
        {
          id: NVR_ID,
          name: '东门 NVR',
          password: 'nvr-password-1',
          keepaliveSeconds: 1,
          channels: [{ id: CHANNEL_IDS[0], grid: GATE, name: '东门车行道', fps: 2, detect: { plate: {} } }],
        },
      ],
      cascade: [{ sipId: PLATFORM_ID, host: '127.0.0.1', port: platformPort, password: 'city-gave-us-this', keepaliveSeconds: 5 }],
    },
  });
  nvr = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'nvr-password-1',
    server: { host: '127.0.0.1', port: t.gateway.ports!.sip!, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [
      { id: CHANNEL_IDS[0]!, name: '东门入口' },
      { id: CHANNEL_IDS[1]!, name: '地下车库 B1' },
      { id: CHANNEL_IDS[2]!, name: '3号楼消防通道', online: false },
    ],
    keepaliveSeconds: 1,
  });
  answerInvites(nvr, { codec: 'h264', fps: 4, pictures: () => scenes.get(scene)!.jpegs });
  await nvr.start();
}, 60_000);

afterAll(async () => {
  await nvr?.stop();
  await t?.stop();
  await platform?.stop();
  await rtsp?.stop();
});

describe('GB/T 28181 in the gateway', () => {
  it('shows the NVR and its catalog in the API, and its channels as cameras', async () => {
    const view = await waitFor('the catalog in the API', async () => {
      const v = await api<{ devices: Array<{ id: string; registered: boolean; catalog: Array<{ id: string; name: string }> }> }>(
        '/api/gb28181',
      );
      return v.devices.find((d) => d.id === NVR_ID && d.catalog.length === 3);
    });
    expect(view.catalog.map((c) => c.name)).toEqual(['东门入口', '地下车库 B1', '3号楼消防通道']);
    const { cameras } = await api<{ cameras: Array<{ id: string; name?: string; grid: string; source: string }> }>('/api/cameras');
    const byId = new Map(cameras.map((c) => [c.id, c]));
    // The config's name and grid cell win over the catalog's; the others take the device's.
    expect(byId.get(CHANNEL_IDS[0]!)).toMatchObject({ name: '东门车行道', grid: GATE, source: 'feed' });
    expect(byId.get(CHANNEL_IDS[1]!)).toMatchObject({ name: '地下车库 B1', grid: '110105001002000', source: 'none' });
  });

  it('reads a blocklisted plate on the channel’s live video and raises vehicle.watchlist_plate', async () => {
    scene = 'plate';
    const m = await t.waitForIncident('watchlist plate', (x) => x.category === 'vehicle.watchlist_plate', 0, 90_000);
    expect(m.facts).toMatchObject({ plate: '京A12345' });
    expect(m.grid).toBe(GATE);
    expect(m.devices[0]).toMatchObject({ id: CHANNEL_IDS[0] });
    scene = 'street';
  }, 120_000);

  it('raises camera.intrusion for an intrusion alarm of the streaming channel, with its snapshot', async () => {
    await nvr.alarm({ deviceId: CHANNEL_IDS[0]!, method: 5, type: 6, eventType: 1, priority: 1, description: '车道入侵' });
    const m = await t.waitForIncident('intrusion', (x) => x.category === 'camera.intrusion', 0, 15_000);
    expect(m.facts).toMatchObject({ alarm: 'intrusion', alarmMethod: 5, alarmType: 6, source: 'gb28181', description: '车道入侵' });
    expect(m.evidence.map((e) => e.class)).toEqual(['snapshot']);
  });

  it('raises camera.video_lost for a channel the catalog says is off', async () => {
    const m = await t.waitForIncident('video lost', (x) => x.category === 'camera.video_lost' && x.devices[0]?.id === CHANNEL_IDS[2]);
    expect(m.facts.detail).toMatch(/catalog says OFF/);
  });

  it('raises device.offline when the NVR stops its keepalives, and resolves it when they come back', async () => {
    nvr.pauseKeepalives();
    const m = await t.waitForIncident('offline', (x) => x.category === 'device.offline' && x.devices[0]?.id === NVR_ID, 0, 20_000);
    expect(m.devices[0]).toMatchObject({ kind: 'gb28181' });
    nvr.resumeKeepalives();
    await t.waitForIncident('back online', (x) => x.id === m.id && x.status === 'resolved', 0, 20_000);
  }, 45_000);

  it('registers to the city platform, whose catalog has the channels and the RTSP camera under a kept id', async () => {
    await waitFor('the gateway registered at the platform', () => platform.lower()?.registered || undefined, 20_000);
    // Channels that came after the platform's first catalog query reach it as Catalog notifications (§9.11.2).
    const lower = await waitFor(
      'the four channels at the platform',
      () => {
        const v = platform.lower();
        return v?.catalog.length === 4 ? v : undefined;
      },
      20_000,
    );
    const byId = new Map(lower.catalog.map((c) => [c.id, c]));
    expect(byId.get(CHANNEL_IDS[0]!)).toMatchObject({ name: '东门车行道', online: true });
    expect(byId.get(CHANNEL_IDS[2]!)).toMatchObject({ online: false });
    expect(byId.get(LOBBY_GB_ID)).toMatchObject({ name: '3号楼大堂', online: true });
    const kept = JSON.parse(await readFile(`${t.gateway.config.dataDir}/gb28181-camera-ids.json`, 'utf8')) as Record<string, string>;
    expect(kept).toEqual({ lobby: LOBBY_GB_ID });
    const view = await api<{ cascade: Array<{ sipId: string; registered: boolean; channels: Array<{ id: string; video: boolean }> }> }>(
      '/api/gb28181',
    );
    expect(view.cascade[0]).toMatchObject({ sipId: PLATFORM_ID, registered: true });
    expect(view.cascade[0]!.channels.find((c) => c.id === LOBBY_GB_ID)).toMatchObject({ video: true });
  }, 30_000);

  it("plays the RTSP camera at the platform, and forwards the channel's intrusion alarm", async () => {
    const source = new RtspFrameSource(platform.live.feed(LOBBY_GB_ID), { camera: 'up', width: 320, height: 180, fps: 2, stallMs: 10_000 });
    const got: Frame[] = [];
    source.on('frame', (f: Frame) => got.push(f));
    source.start();
    try {
      await waitFor('frames of the lobby at the platform', () => got.length >= 3 || undefined, 30_000);
    } finally {
      await source.stop();
    }
    // The earlier tests' incidents of the channel went up as its Alarms: the intrusion as video alarm type 6 (入侵),
    // the watchlist plate as a video alarm the standard has no type for, named in the description.
    const ofChannel = () => platform.alarms.filter((a) => a.deviceId === CHANNEL_IDS[0]);
    const intrusion = await waitFor('the intrusion at the platform', () => ofChannel().find((a) => a.type === 6));
    expect(intrusion).toMatchObject({ method: 5, priority: expect.any(Number) });
    expect(ofChannel().find((a) => a.type === undefined)).toMatchObject({
      method: 5,
      description: expect.stringMatching(/^vehicle\.watchlist_plate/),
    });
  }, 45_000);
});
