/** `gridedge doctor` on a healthy setup and on each failure it reports, with real servers. */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedDahuaCamera } from '../../sim/camera/dahua.js';
import { SimulatedIsapiCamera } from '../../sim/camera/isapi.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { gridedge } from '../helpers/cli.js';
import {
  freePort,
  startMosquitto,
  startRedis,
  startVictoriaMetrics,
  type Mosquitto,
  type VictoriaMetrics,
  waitFor,
} from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

let mosquitto: Mosquitto;
let vm: VictoriaMetrics;
beforeAll(async () => {
  [mosquitto, vm] = await Promise.all([startMosquitto({ users: { 'gw-doc': 'upstream-pass-1' } }), startVictoriaMetrics()]);
});
afterAll(async () => {
  await mosquitto?.stop();
  await vm?.stop();
});

interface Setup {
  brokerPort?: number;
  apiPort?: number;
  upstream?: string;
  influx?: string;
  extra?: string[];
}

async function config(s: Setup = {}): Promise<string> {
  const dir = await tempDir('doctor');
  const file = path.join(dir, 'gw.yaml');
  await writeFile(
    file,
    [
      'gateway:',
      '  id: gw-doc',
      '  grid: "110105001002000"',
      '  dataDir: ./data',
      'broker:',
      '  host: 127.0.0.1',
      `  port: ${s.brokerPort ?? (await freePort())}`,
      'api:',
      '  host: 127.0.0.1',
      `  port: ${s.apiPort ?? (await freePort())}`,
      'upstream:',
      `  url: ${s.upstream ?? mosquitto.url}`,
      '  username: gw-doc',
      'influx:',
      `  url: ${s.influx ?? vm.url}`,
      '  org: o',
      '  bucket: b',
      'devices:',
      '  - id: smoke-1',
      '    kind: smoke-alarm',
      '    secret: smoke-secret-1',
      ...(s.extra ?? []),
    ].join('\n'),
  );
  return file;
}

const env = { GRIDEDGE_UPSTREAM_PASSWORD: 'upstream-pass-1', GRIDEDGE_INFLUX_TOKEN: 'token' };

async function run(file: string, e: Record<string, string> = env) {
  const r = gridedge(['doctor', '--config', file], e);
  return { code: await r.code, out: r.stdout() };
}

describe('gridedge doctor', () => {
  it('passes a healthy setup, check by check', async () => {
    const { code, out } = await run(await config());
    expect(out).toMatch(/^PASS {2}config/m);
    expect(out).toMatch(/^PASS {2}broker port +127\.0\.0\.1:\d+ is free$/m);
    expect(out).toMatch(/^PASS {2}upstream +mqtt:\/\/127\.0\.0\.1:\d+ accepts this gateway's credentials$/m);
    expect(out).toMatch(/^PASS {2}series +http:\/\/127\.0\.0\.1:\d+ took a test point/m);
    expect(out).toMatch(/^PASS {2}device kinds +settings and registries load; 1 smoke-alarm$/m);
    expect(out).toMatch(/^PASS {2}detector models +4 models load \(face \d+ ms, plate \d+ ms, plate \d+ ms, object \d+ ms\)$/m);
    expect(out).toMatch(/^all checks passed$/m);
    expect(code).toBe(0);
  });

  it('fails the detector models when the converted model cannot be written, and says what to do', async () => {
    const { code, out } = await run(await config(), { ...env, GRIDEDGE_MODEL_DIR: '/dev/null/models' });
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL {2}detector models +CenterNet COCO \(people, vehicles\): .*\/dev\/null\/models/m);
    expect(out).toMatch(/gridedge models/);
  }, 60_000);

  it('reports a bad config with the key, and stops there', async () => {
    const { code, out } = await run(await config({ extra: ['  - id: smoke-2', '    kind: toaster', '    secret: x'] }));
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL {2}config +devices\[1\]\.kind: "toaster" is not allowed/m);
    expect(out).toContain('fix: correct the keys named above');
  });

  it('reports a port in use and how to find who holds it', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const { code, out } = await run(await config({ brokerPort: port }));
    blocker.close();
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^FAIL {2}broker port +127\\.0\\.0\\.1:${port} cannot be listened on \\(EADDRINUSE\\)`, 'm'));
    expect(out).toContain(`fix: stop what listens there (ss -ltnp 'sport = :${port}'`);
  });

  it('reports an upstream that is down, and one that refuses the credentials', async () => {
    const down = await run(await config({ upstream: `mqtt://127.0.0.1:${await freePort()}` }));
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/^FAIL {2}upstream .*ECONNREFUSED/m);
    expect(down.out).toContain('fix: nothing listens there');
    const refused = await run(await config(), { ...env, GRIDEDGE_UPSTREAM_PASSWORD: 'wrong-password' });
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^FAIL {2}upstream /m);
    expect(refused.out).toContain('fix: the broker refused the credentials');
  });

  it("checks the HA pair's redis: a durable one passes, one that does not fsync or does not answer fails with a fix", async () => {
    const redis = await startRedis();
    try {
      const pair = (url: string) => ['cluster:', `  redis: ${url}`, '  node: a'];
      const ok = await run(await config({ extra: pair(redis.url) }));
      expect(ok.out).toMatch(/^PASS {2}ha pair +redis:\/\/127\.0\.0\.1:\d+ answers as node a, AOF with fsync on every write$/m);
      const down = await run(await config({ extra: pair(`redis://127.0.0.1:${await freePort()}`) }));
      expect(down.code).toBe(1);
      expect(down.out).toMatch(/^FAIL {2}ha pair /m);
      expect(down.out).toContain('fix: redis did not answer');
      const { Redis } = await import('ioredis');
      const admin = new Redis(redis.url);
      await admin.config('SET', 'appendfsync', 'everysec');
      admin.disconnect();
      const lax = await run(await config({ extra: pair(redis.url) }));
      expect(lax.out).toMatch(/^FAIL {2}ha pair .*appendfsync everysec/m);
      expect(lax.out).toContain('fix: run redis with appendonly yes and appendfsync always');
    } finally {
      await redis.stop();
    }
  });

  it('reports a series server that does not answer', async () => {
    const { code, out } = await run(await config({ influx: `http://127.0.0.1:${await freePort()}` }));
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL {2}series /m);
    expect(out).toContain('fix: the server did not answer');
  });

  it('reports a device-kind file that will not load', async () => {
    const file = await config({ extra: ['kinds:', '  lpg-reader:', '    cylinders: missing.csv'] });
    const { code, out } = await run(file);
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL {2}device kinds +lpg-reader: cylinder registry .*missing\.csv does not exist/m);
  });

  it('checks ffmpeg and each camera: a working one passes, a wrong password and a dead stream fail with a fix', async () => {
    const cam = new SimulatedCamera({ id: 'doc-cam', password: 'doc-cam-pass' });
    await cam.start();
    try {
      const dead = await freePort();
      const { code, out } = await run(
        await config({
          extra: [
            'cameras:',
            '  - id: cam-ok',
            `    onvif: ${cam.xaddr}`,
            '    user: admin',
            '  - id: cam-bad',
            `    onvif: ${cam.xaddr}`,
            '    user: admin',
            '    password: wrong-one',
            '  - id: cam-dead',
            `    rtsp: rtsp://127.0.0.1:${dead}/stream`,
          ],
        }),
        { ...env, GRIDEDGE_CAMERA_PASSWORD_CAM_OK: 'doc-cam-pass' },
      );
      expect(out).toMatch(/^PASS {2}ffmpeg +ffmpeg: ffmpeg version/m);
      expect(out).toMatch(
        new RegExp(
          String.raw`^PASS {2}camera cam-ok +gridedge SimCam-1 at http://127\.0\.0\.1:\d+/onvif/device_service; ` +
            String.raw`1 profile\(s\), H264 640x360; events: yes$`,
          'm',
        ),
      );
      expect(out).toMatch(/^FAIL {2}camera cam-bad +.*refused the credentials/m);
      expect(out).toMatch(/fix: check cameras\[\]\.user and the password \(or GRIDEDGE_CAMERA_PASSWORD_CAM_BAD\)/);
      expect(out).toMatch(/^FAIL {2}camera cam-dead +RTSP 127\.0\.0\.1:\d+ does not accept connections/m);
      expect(out).not.toContain('doc-cam-pass');
      expect(code).toBe(1);
    } finally {
      await cam.stop();
    }
  }, 30_000);

  it("checks a smart camera's own API: what it says of itself, or why it cannot be read", async () => {
    const hik = new SimulatedIsapiCamera({ password: 'hik-doc-pass' });
    const dahua = new SimulatedDahuaCamera({ password: 'dahua-doc-pass', snapshot: Buffer.from('x') });
    await hik.start();
    await dahua.start();
    try {
      const { code, out } = await run(
        await config({
          extra: [
            'cameras:',
            '  - id: cam-hik',
            `    isapi: ${hik.url}`,
            '    user: admin',
            '    password: hik-doc-pass',
            '  - id: cam-dahua',
            `    dahua: ${dahua.url}`,
            '    user: admin',
            '    password: not-the-password',
          ],
        }),
        env,
      );
      expect(out).toMatch(
        /^FAIL {2}camera cam-dahua \(Dahua\) +Dahua magicBox http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/magicBox\.cgi\S+ the camera refused/m,
      );
      expect(out).toMatch(
        /^FAIL {2}camera cam-dahua \(Dahua\) +Dahua magicBox http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/magicBox\.cgi\S+ the camera refused/m,
      );
      expect(out).toMatch(/fix: check cameras\[\]\.user and the password \(or GRIDEDGE_CAMERA_PASSWORD_CAM_DAHUA\)/);
      expect(out).not.toContain('not-the-password');
      expect(code).toBe(1);
    } finally {
      await hik.stop();
      await dahua.stop();
    }
  }, 30_000);

  it('prints each check as it completes, while a slow one is still running', async () => {
    // A camera whose ONVIF port takes the connection and never answers: its check waits for the timeout.
    const silent = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as net.AddressInfo).port;
    const file = await config({ extra: ['cameras:', '  - id: cam-silent', `    onvif: http://127.0.0.1:${port}/onvif/device_service`] });
    const run = gridedge(['doctor', '--config', file]);
    let exited = false;
    void run.code.then(() => (exited = true));
    await waitFor(
      'the first checks printed',
      () => (/^PASS {2}config /m.test(run.stdout()) && /^PASS {2}broker port /m.test(run.stdout()) ? true : undefined),
      20_000,
    );
    expect(exited).toBe(false); // the camera's check is still waiting
    expect(await run.code).toBe(1);
    expect(run.stdout()).toMatch(/^FAIL {2}camera cam-silent/m);
    silent.close();
  }, 60_000);
});
