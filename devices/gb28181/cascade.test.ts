/**
 * The cascade to an upper platform: the gateway registers (digest), keeps alive, answers the
 * platform's Catalog with a GB/T 28181 channel of an NVR below it and an RTSP camera, answers
 * DeviceInfo and DeviceStatus, sends both channels' video when INVITEd (the RTSP stream copied
 * into PS, the NVR's PS relayed), ends them on BYE, and sends alarms up. A wrong password is
 * refused and said, and the gateway keeps trying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { BUILTIN_SCENES, renderScenes } from '../../sim/camera/scenes.js';
import { RtspStream } from '../../sim/camera/rtsp.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { answerInvites, type OutgoingStream } from '../../sim/gb28181/media.js';
import { SimulatedPlatform } from '../../sim/gb28181/platform.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, gbSettings, NVR_ID } from '../../test/helpers/gb28181.js';
import { waitFor } from '../../test/helpers/servers.js';
import { type Frame, RtspFrameSource } from '../camera/frames.js';
import { Cascade, type CascadeChannel } from './cascade.js';
import { cameraGbId } from './ids.js';
import { LiveVideo } from './live.js';
import { PortPool } from './media/receiver.js';
import { gbChannelSource, rtspSource } from './relay.js';
import { Gb28181Service } from './service.js';

const PLATFORM_ID = '11000000002000000001';
const CAMERA_GB_ID = cameraGbId(GATEWAY_SIP_ID, 1);
const stops: Array<() => Promise<void> | void> = [];
let gb: Gb28181Service;
let live: LiveVideo;
let cascade: Cascade;
let platform: SimulatedPlatform;
let nvr: SimulatedGbDevice;
let nvrStreams: Map<string, OutgoingStream>;

function cascadeOf(port: number, password: string) {
  return {
    sipId: PLATFORM_ID,
    host: '127.0.0.1',
    port,
    transport: 'udp' as const,
    password,
    expires: 3600,
    keepaliveSeconds: 1,
    forwardAlarms: true,
  };
}

beforeAll(async () => {
  platform = new SimulatedPlatform({ sipId: PLATFORM_ID, lower: { id: GATEWAY_SIP_ID, password: 'city-gave-us-this' } });
  const platformPort = await platform.start();
  stops.push(() => platform.stop());

  const counters = new Counters();
  const log = createLogger('silent');
  gb = new Gb28181Service(
    gbSettings({
      media: { portMin: 35000, portMax: 35999, transport: 'udp' },
      devices: [{ id: NVR_ID, grid: '110105001002001', password: 'nvr-password-1', guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters, log },
  );
  const port = await gb.start();
  stops.push(() => gb.stop());
  live = new LiveVideo(gb, { pool: new PortPool(35000, 35999), bindHost: '127.0.0.1', maxStreams: 8, counters, log });
  stops.push(() => live.stop());

  const scenes = await renderScenes({ street: BUILTIN_SCENES.street!, plate: BUILTIN_SCENES.plate! }, 640, 360);
  nvr = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'nvr-password-1',
    server: { host: '127.0.0.1', port, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [{ id: CHANNEL_IDS[0]!, name: '东门入口' }],
  });
  nvrStreams = answerInvites(nvr, { codec: 'h264', fps: 10, pictures: () => scenes.get('plate')!.jpegs });
  stops.push(() => {
    for (const s of nvrStreams.values()) s.stop();
    return nvr.stop();
  });
  await nvr.start();
  await waitFor('the NVR catalog', () => gb.view(NVR_ID)?.catalog.length || undefined);

  const rtsp = new RtspStream({
    host: '127.0.0.1',
    port: 0,
    path: '/stream',
    fps: 10,
    codec: 'h264',
    firstScene: scenes.get('street')!.files,
  });
  await rtsp.start();
  stops.push(() => rtsp.stop());

  const channels = (): CascadeChannel[] => [
    { id: CHANNEL_IDS[0]!, name: '东门入口', online: true, source: gbChannelSource(live, CHANNEL_IDS[0]!) },
    { id: CAMERA_GB_ID, name: '3号楼大堂', online: true, manufacturer: 'ONVIF', source: rtspSource(rtsp.url, 'camera lobby') },
  ];
  cascade = new Cascade([cascadeOf(platformPort, 'city-gave-us-this')], {
    gb,
    channels,
    deviceInfo: () => [
      ['DeviceName', '东门社区网关'],
      ['Manufacturer', 'gridedge'],
      ['Model', 'gateway'],
    ],
    limits: gb.settings.limits,
    bindHost: '127.0.0.1',
    counters,
    log,
  });
  await cascade.start();
  stops.push(() => cascade.stop());
}, 60_000);

afterAll(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function frames(channel: string) {
  const source = new RtspFrameSource(platform.live.feed(channel), { camera: channel, width: 320, height: 180, fps: 5, stallMs: 10_000 });
  const got: Frame[] = [];
  source.on('frame', (f: Frame) => got.push(f));
  source.start();
  return { source, got };
}

describe('GB/T 28181 cascade to an upper platform', () => {
  it('registers with the password the platform gave, and answers its Catalog, DeviceInfo and DeviceStatus', async () => {
    const lower = await waitFor('the catalog at the platform', () => {
      const v = platform.lower();
      return v?.registered && v.catalog.length === 2 && v.info && v.status ? v : undefined;
    });
    expect(lower.catalog.map((c) => [c.id, c.name, c.online])).toEqual([
      [CHANNEL_IDS[0], '东门入口', true],
      [CAMERA_GB_ID, '3号楼大堂', true],
    ]);
    expect(lower.catalog.every((c) => c.parentId === GATEWAY_SIP_ID)).toBe(true);
    expect(lower.info).toMatchObject({ DeviceName: '东门社区网关', Manufacturer: 'gridedge', Channel: '2' });
    expect(lower.status).toMatchObject({ Online: 'ONLINE', Status: 'OK' });
    expect(lower.status!.DeviceTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    // Keepalives arrive each second at the platform.
    const first = lower.lastKeepaliveAt ?? 0;
    await waitFor('a keepalive', () => (platform.lower()?.lastKeepaliveAt ?? 0) > first || undefined, 5000);
    expect(cascade.view()[0]).toMatchObject({ sipId: PLATFORM_ID, registered: true });
  });

  it("sends an RTSP camera's video up as PS over RTP when INVITEd, and stops on BYE", async () => {
    const { source, got } = frames(CAMERA_GB_ID);
    await waitFor('frames of the RTSP camera at the platform', () => got.length >= 5 || undefined, 30_000);
    expect(got[0]).toMatchObject({ width: 320, height: 180 });
    const [session] = platform.live.sessions();
    expect(session!.receiver.stats.codec).toBe('h264');
    expect(session!.receiver.stats.refused).toBe(0);
    expect(cascade.view()[0]!.streams).toHaveLength(1);
    await source.stop();
    await waitFor('the relay gone', () => cascade.view()[0]!.streams.length === 0 || undefined);
  });

  it('relays a GB/T 28181 channel of the NVR below, and BYEs the NVR when the platform hangs up', async () => {
    const { source, got } = frames(CHANNEL_IDS[0]!);
    await waitFor('frames of the NVR channel at the platform', () => got.length >= 5 || undefined, 30_000);
    const [session] = platform.live.sessions();
    expect(session!.receiver.stats.codec).toBe('h264');
    expect(session!.receiver.stats.refused).toBe(0);
    // The SSRC the platform asked for (its domain's digits, Annex F), not the one the NVR was asked for.
    const below = live.sessions();
    expect(below.map((s) => s.channel)).toEqual([CHANNEL_IDS[0]]);
    expect(String(session!.receiver.stats.ssrc).padStart(10, '0')).toMatch(/^000000\d{4}$/);
    expect(below[0]!.receiver.stats.ssrc).not.toBe(session!.receiver.stats.ssrc);
    await source.stop();
    await waitFor('the BYE to the NVR', () => nvr.received.some((r) => r.method === 'BYE') || undefined);
    await waitFor('no session below', () => live.sessions().length === 0 || undefined);
  });

  it('refuses an INVITE for a channel it does not have, with 404', async () => {
    await expect(platform.live.open('11010500011310009999')).rejects.toThrow(/no registered device has it/);
    const { req, peer } = platform.service.newRequest('INVITE', GATEWAY_SIP_ID, '11010500011310009999');
    req.add('content-type', 'APPLICATION/SDP');
    req.body = Buffer.from('v=0\r\no=x 0 0 IN IP4 127.0.0.1\r\ns=Play\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\n');
    const res = await platform.service.endpoint.request(req, peer);
    expect(res.status).toBe(404);
  });

  it('sends a camera alarm up as a GB/T 28181 Alarm notification', async () => {
    await cascade.alarm({ deviceId: CAMERA_GB_ID, method: 5, type: 6, eventType: 1, priority: 1, at: Date.now(), description: '大堂入侵' });
    const a = await waitFor('the alarm at the platform', () => platform.alarms.find((x) => x.deviceId === CAMERA_GB_ID));
    expect(a).toMatchObject({ method: 5, type: 6, priority: 1, description: '大堂入侵' });
    expect(cascade.view()[0]!.alarmsSent).toBe(1);
  });

  it('says why when the platform refuses the password, and keeps trying', async () => {
    const other = new SimulatedPlatform({ sipId: PLATFORM_ID, lower: { id: GATEWAY_SIP_ID, password: 'not-what-we-have' } });
    const port = await other.start();
    const wrong = new Cascade([cascadeOf(port, 'city-gave-us-this')], {
      gb,
      channels: () => [],
      deviceInfo: () => [],
      limits: gb.settings.limits,
      bindHost: '127.0.0.1',
      counters: new Counters(),
      log: createLogger('silent'),
    });
    try {
      await wrong.start();
      const v = await waitFor('the refusal', () => wrong.view()[0]?.lastError);
      expect(v).toMatch(/REGISTER refused: 403/);
      expect(wrong.view()[0]!.registered).toBe(false);
      expect(other.lower()!.registered).toBe(false);
      expect(JSON.stringify(wrong.view())).not.toContain('city-gave-us-this');
    } finally {
      await wrong.stop();
      await other.stop();
    }
  });
});
