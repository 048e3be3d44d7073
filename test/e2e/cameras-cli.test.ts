/** `gridedge sim camera`, `gridedge cameras discover` and `gridedge cameras probe`, as a tester and a field engineer run them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridedge, type Run } from '../helpers/cli.js';
import { waitFor } from '../helpers/servers.js';

let sim: Run;
let xaddr = '';
let discoveryPort = 0;

beforeAll(async () => {
  sim = gridedge(
    [
      'sim',
      'camera',
      '--id',
      'cli-cam',
      '--onvif-port',
      '0',
      '--rtsp-port',
      '0',
      '--discovery-port',
      '0',
      '--user',
      'admin',
      '--grid',
      '110105001002001',
      '--fps',
      '5',
    ],
    { GRIDEDGE_SIM_CAMERA_PASSWORD: 'cli-cam-pass' },
  );
  await waitFor('the simulated camera', () => /Ctrl-C/.test(sim.stdout()), 20_000);
  xaddr = /ONVIF\s+(\S+)/.exec(sim.stdout())![1]!;
  discoveryPort = Number(/discovery udp:\/\/[^:]+:(\d+)/.exec(sim.stdout())![1]);
}, 30_000);

afterAll(async () => {
  sim?.kill('SIGTERM');
  await sim?.code;
});

describe('camera commands', () => {
  it('sim camera prints where its services listen', () => {
    expect(sim.stdout()).toMatch(/RTSP\s+rtsp:\/\/127\.0\.0\.1:\d+\/stream/);
    expect(sim.stdout()).toMatch(/snapshot\s+http:\/\/127\.0\.0\.1:\d+\/snapshot\.jpg/);
  });

  it('cameras discover finds it, with progress on stderr, and --json for tools', async () => {
    const run = gridedge(['cameras', 'discover', '--target', `127.0.0.1:${discoveryPort}`, '--timeout', '1']);
    expect(await run.code).toBe(0);
    expect(run.stderr()).toMatch(/probing 127\.0\.0\.1:\d+/);
    expect(run.stdout()).toContain('cli-cam');
    expect(run.stdout()).toContain(xaddr);
    const json = gridedge(['cameras', 'discover', '--target', `127.0.0.1:${discoveryPort}`, '--timeout', '1', '--json']);
    expect(await json.code).toBe(0);
    expect(JSON.parse(json.stdout())[0]).toMatchObject({ name: 'cli-cam', location: '110105001002001', xaddrs: [xaddr] });
  });

  it('cameras discover exits 1 when nothing answers, and refuses a bad target', async () => {
    const none = gridedge(['cameras', 'discover', '--target', '127.0.0.1:9', '--timeout', '0.3']);
    expect(await none.code).toBe(1);
    expect(none.stdout()).toContain('no ONVIF camera answered');
    const bad = gridedge(['cameras', 'discover', '--target', 'host:99999']);
    expect(await bad.code).toBe(2);
    expect(bad.stderr()).toMatch(/port out of range/);
  });

  it('cameras probe prints the profiles and URIs, and a clear error for a wrong password', async () => {
    const ok = gridedge(['cameras', 'probe', '--xaddr', xaddr, '--user', 'admin'], { GRIDEDGE_CAMERA_PASSWORD: 'cli-cam-pass' });
    expect(await ok.code).toBe(0);
    expect(ok.stdout()).toMatch(/gridedge SimCam-1/);
    expect(ok.stdout()).toMatch(/H264 640x360 @ 5 fps/);
    expect(ok.stdout()).toMatch(/stream\s+rtsp:\/\//);
    const wrong = gridedge(['cameras', 'probe', '--xaddr', xaddr, '--user', 'admin', '--password', 'nope']);
    expect(await wrong.code).toBe(1);
    expect(wrong.stderr()).toMatch(/refused the credentials/);
  });
});
