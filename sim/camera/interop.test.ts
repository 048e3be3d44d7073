/**
 * The simulated camera against an independent ONVIF client (the `onvif` npm package, not the
 * node-onvif the gateway uses), so it is compatible with more than itself.
 */
import onvif from 'onvif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCamera } from './camera.js';

type Callback<T> = (err: Error | null, value: T) => void;
type Profile = {
  $: { token: string };
  name: string;
  videoEncoderConfiguration?: { encoding: string; resolution: { width: number; height: number } };
};
interface Cam {
  getDeviceInformation(cb: Callback<Record<string, string>>): void;
  getProfiles(cb: Callback<Profile[]>): void;
  getStreamUri(opts: { protocol: string; profileToken?: string }, cb: Callback<{ uri: string }>): void;
  getSnapshotUri(opts: { profileToken?: string }, cb: Callback<{ uri: string }>): void;
  createPullPointSubscription(cb: Callback<unknown>): void;
  pullMessages(opts: { timeout: number; messageLimit: number }, cb: Callback<{ notificationMessage?: unknown }>): void;
  unsubscribe(cb: Callback<unknown>): void;
}
const { Cam } = onvif as unknown as { Cam: new (opts: Record<string, unknown>, cb: (err: Error | null) => void) => Cam };

function connect(port: number, password: string): Promise<Cam> {
  return new Promise((resolve, reject) => {
    const cam: Cam = new Cam({ hostname: '127.0.0.1', port, username: 'admin', password, timeout: 5000 }, (err) =>
      err ? reject(err) : resolve(cam),
    );
  });
}

const call = <T>(f: (cb: Callback<T>) => void) => new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));

describe('the simulated camera with the independent `onvif` client', () => {
  const sim = new SimulatedCamera({ id: 'cam-interop', user: 'admin', password: 'interop-pass', fps: 5 });
  let port = 0;

  beforeAll(async () => {
    await sim.start();
    port = Number(new URL(sim.xaddr).port);
  }, 30_000);
  afterAll(async () => {
    await sim.stop();
  });

  it('reads device information, profiles, stream and snapshot URIs', async () => {
    const cam = await connect(port, 'interop-pass');
    const info = await call<Record<string, string>>((cb) => cam.getDeviceInformation(cb));
    expect(info).toMatchObject({ manufacturer: 'gridedge', model: 'SimCam-1', serialNumber: 'cam-interop' });
    const profiles = await call<Profile[]>((cb) => cam.getProfiles(cb));
    expect(profiles).toHaveLength(1);
    expect(profiles[0]!.videoEncoderConfiguration).toMatchObject({ encoding: 'H264', resolution: { width: 640, height: 360 } });
    const token = profiles[0]!.$.token;
    const stream = await call<{ uri: string }>((cb) => cam.getStreamUri({ protocol: 'RTSP', profileToken: token }, cb));
    expect(stream.uri).toBe(sim.rtspUrl);
    const snap = await call<{ uri: string }>((cb) => cam.getSnapshotUri({ profileToken: token }, cb));
    expect(snap.uri).toBe(sim.snapshotUrl);
  });

  it('delivers motion events through a pull-point subscription', async () => {
    const cam = await connect(port, 'interop-pass');
    await call((cb) => cam.createPullPointSubscription(cb));
    const first = await call<{ notificationMessage?: unknown }>((cb) => cam.pullMessages({ timeout: 2000, messageLimit: 10 }, cb));
    expect(JSON.stringify(first.notificationMessage)).toContain('MotionAlarm'); // the initial state
    sim.show('people');
    const next = await call<{ notificationMessage?: unknown }>((cb) => cam.pullMessages({ timeout: 3000, messageLimit: 10 }, cb));
    const text = JSON.stringify(next.notificationMessage);
    expect(text).toContain('MotionAlarm');
    expect(text).toMatch(/"Name":"State","Value":true/);
    await call((cb) => cam.unsubscribe(cb));
    sim.show('street');
  });

  it('refuses the client with a wrong password', async () => {
    const cam = await connect(port, 'wrong').catch((e: Error) => e);
    const failed = cam instanceof Error ? cam : await call((cb) => (cam as Cam).getDeviceInformation(cb)).catch((e: Error) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(String((failed as Error).message)).toMatch(/not authorized/i);
  });
});
