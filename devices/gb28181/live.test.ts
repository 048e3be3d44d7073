/**
 * Live video from a simulated GB/T 28181 camera: INVITE with SDP, PS over RTP (UDP, TCP passive,
 * TCP active; H.264 and H.265) into the same ffmpeg frame pipeline as RTSP cameras, BYE on stop,
 * a BYE from the device, and a stream that stalls and is INVITEd again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { answerInvites } from '../../sim/gb28181/media.js';
import { BUILTIN_SCENES, renderScenes } from '../../sim/camera/scenes.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, gbSettings, NVR_ID } from '../../test/helpers/gb28181.js';
import { waitFor } from '../../test/helpers/servers.js';
import { type Frame, RtspFrameSource } from '../camera/frames.js';
import type { MediaTransport } from './config.js';
import { LiveVideo } from './live.js';
import { PortPool } from './media/receiver.js';
import { Gb28181Service } from './service.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function setup(media: MediaTransport, codec: 'h264' | 'h265') {
  const counters = new Counters();
  const gb = new Gb28181Service(
    gbSettings({
      media: { portMin: 32000, portMax: 32999, transport: media },
      devices: [{ id: NVR_ID, grid: '110105001002001', password: 'nvr-password-1', guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters, log: createLogger('silent') },
  );
  const port = await gb.start();
  stops.push(() => gb.stop());
  const live = new LiveVideo(gb, {
    pool: new PortPool(32000, 32999),
    bindHost: '127.0.0.1',
    maxStreams: 4,
    counters,
    log: createLogger('silent'),
  });
  stops.push(() => live.stop());
  const scenes = await renderScenes({ street: BUILTIN_SCENES.street!, plate: BUILTIN_SCENES.plate! }, 640, 360);
  const device = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'nvr-password-1',
    server: { host: '127.0.0.1', port, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [{ id: CHANNEL_IDS[0]!, name: '东门入口' }],
  });
  const streams = answerInvites(device, { codec, fps: 10, pictures: () => scenes.get('plate')!.jpegs });
  stops.push(() => {
    for (const s of streams.values()) s.stop();
    return device.stop();
  });
  await device.start();
  await waitFor('the catalog', () => gb.view(NVR_ID)?.catalog.length || undefined);
  return { gb, live, device, streams, counters };
}

function frames(live: LiveVideo, stallMs = 10_000) {
  const source = new RtspFrameSource(live.feed(CHANNEL_IDS[0]!), {
    camera: 'gb',
    width: 320,
    height: 180,
    fps: 5,
    stallMs,
    backoffMs: 200,
  });
  const got: Frame[] = [];
  source.on('frame', (f: Frame) => got.push(f));
  source.start();
  stops.push(() => source.stop());
  return { source, got };
}

describe('GB/T 28181 live video', () => {
  for (const [media, codec] of [
    ['udp', 'h264'],
    ['tcp-passive', 'h264'],
    ['tcp-active', 'h265'],
  ] as const) {
    it(`decodes a channel's ${codec.toUpperCase()} PS stream over ${media} into frames, and BYEs when stopped`, async () => {
      const { live, device, streams } = await setup(media, codec);
      const { source, got } = frames(live);
      await waitFor('frames', () => got.length >= 5 || undefined, 20_000);
      expect(got[0]).toMatchObject({ width: 320, height: 180 });
      expect(got[0]!.data.length).toBe(320 * 180 * 3);
      const [session] = live.sessions();
      expect(session).toMatchObject({ channel: CHANNEL_IDS[0], device: NVR_ID, transport: media });
      expect(session!.receiver.stats.codec).toBe(codec);
      expect(session!.receiver.stats.refused).toBe(0);
      const invite = device.received.find((r) => r.method === 'INVITE')!;
      expect(invite.get('subject')).toMatch(new RegExp(`^${CHANNEL_IDS[0]}:0\\d{9},${GATEWAY_SIP_ID}:0$`));
      expect(invite.body.toString()).toMatch(/^y=0\d{9}$/m);
      await source.stop();
      await waitFor('the BYE', () => device.received.some((r) => r.method === 'BYE') || undefined);
      expect([...streams.values()].every((s) => s.stopped)).toBe(true);
      expect(live.sessions()).toEqual([]);
    });
  }

  it('INVITEs again when the stream stalls, and when the device ends it with BYE', async () => {
    const { live, device, streams } = await setup('udp', 'h264');
    const { got } = frames(live, 1500);
    await waitFor('frames', () => got.length >= 3 || undefined, 20_000);
    // The camera keeps the session but sends nothing: the watchdog BYEs and INVITEs again.
    for (const s of streams.values()) s.stalled = true;
    const invitesBefore = device.received.filter((r) => r.method === 'INVITE').length;
    await waitFor(
      'a second INVITE',
      () => device.received.filter((r) => r.method === 'INVITE').length > invitesBefore || undefined,
      20_000,
    );
    const count = got.length;
    await waitFor('frames again', () => got.length > count + 3 || undefined, 20_000);
    // The camera hangs up: the gateway notices, and INVITEs once more.
    const [session] = live.sessions();
    const { req, peer } = await byeFromDevice(device, session!.callId);
    await device.endpoint.request(req, peer);
    const more = device.received.filter((r) => r.method === 'INVITE').length;
    await waitFor('an INVITE after the BYE', () => device.received.filter((r) => r.method === 'INVITE').length > more || undefined, 20_000);
  });
});

/** A BYE from the device in the dialog of the gateway's INVITE. */
async function byeFromDevice(device: SimulatedGbDevice, callId: string) {
  const { SipRequest } = await import('./sip/message.js');
  const invite = device.received.filter((r) => r.method === 'INVITE' && r.callId === callId).pop()!;
  const bye = new SipRequest('BYE', `sip:${GATEWAY_SIP_ID}@127.0.0.1:${device.server.port}`);
  bye.add('from', `${invite.get('to')};tag=devtag`);
  bye.add('to', invite.get('from')!);
  bye.add('call-id', callId);
  bye.add('cseq', '1 BYE');
  return { req: bye, peer: device.server };
}
