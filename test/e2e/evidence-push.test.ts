/**
 * Evidence pushed to the centre with real parts: a smoke alarm in a cell with a camera (its
 * snapshot URL serving real photos with faces) → the incident names where its snapshot will be,
 * and the snapshot arrives through the sink — over mosquitto (the gateway reaches it only
 * outbound; the platform never calls the gateway; reassembled by our reference and by a Python
 * one on Eclipse Paho), to a real HTTP server, to an S3 server
 * (s3rver) — byte-identical to what the incident names, with the faces blurred; and the same
 * across an upstream outage and two kill -9s of the gateway process, with nothing lost.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import { PACKAGE_ROOT } from '../../core/package.js';
import { FaceDetector } from '../../detectors/face/blazeface.js';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { gridedge, type Run } from '../helpers/cli.js';
import { canConnect, freePort, startMosquitto, waitFor, type Mosquitto } from '../helpers/servers.js';
import { photoServer } from '../helpers/photos.js';
import { tempDir } from '../helpers/tmp.js';
import { EvidenceCollector, UpstreamSubscriber } from '../helpers/upstream.js';

const GRID = '110105001002000';
function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function facesIn(jpeg: Buffer): Promise<number> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return (await new FaceDetector({ minScore: 0.7 }).detect({ width: info.width, height: info.height, data: new Uint8Array(data) })).length;
}

interface Site {
  gateway: Gateway;
  alarm: SimulatedSmokeAlarm;
  stop: () => Promise<void>;
}

async function site(name: string, upstream: string, evidence: Record<string, unknown>, snapshot: string): Promise<Site> {
  const dataDir = await tempDir(name);
  const gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: name, grid: GRID, dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0 },
        upstream: { url: upstream },
        evidence,
        devices: [{ id: 'smoke-1', kind: 'smoke-alarm', secret: 'smoke-secret-1' }],
        cameras: [{ id: 'cam-hall', snapshot, source: 'snapshot', fps: 0.2 }],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  const ports = await gateway.start();
  const alarm = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${ports.broker}`, id: 'smoke-1', secret: 'smoke-secret-1' });
  await alarm.connect();
  return {
    gateway,
    alarm,
    stop: async () => {
      alarm.kill();
      await gateway.stop();
    },
  };
}

let mosquitto: Mosquitto;
let photos: Awaited<ReturnType<typeof photoServer>>;
beforeAll(async () => {
  mosquitto = await startMosquitto();
  photos = await photoServer();
});
afterAll(async () => {
  await photos?.close();
  await mosquitto?.stop();
});

describe('evidence pushed over the upstream broker (mqtt sink)', () => {
  it("delivers an alarm's snapshot in chunks the platform reassembles by sha256, faces blurred", async () => {
    const incidents = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-push-mqtt/incident');
    const collector = await EvidenceCollector.connect(mosquitto.url);
    const s = await site('gw-push-mqtt', mosquitto.url, { push: { chunkBytes: 16_384 } }, photos.url);
    try {
      await s.alarm.alarm(3.1);
      const m = await incidents.waitFor<IncidentMessage>(
        'smoke alarm with its snapshot',
        '/incident',
        (x) => x.category === 'fire.smoke_alarm' && x.evidence.length > 0,
        20_000,
      );
      const ev = m.evidence[0]!;
      expect(ev).toMatchObject({ class: 'snapshot', camera: 'cam-hall', masked: true, delivery: { sink: 'mqtt' } });
      expect(ev.delivery!.key).toBe(`gridedge/gw-push-mqtt/${ev.sha256}.jpg`);
      expect(ev.original).toMatch(/^[0-9a-f]{64}$/);
      expect(ev.thumbnail!.inline.length).toBeGreaterThan(100);
      const got = await collector.waitFor(ev.sha256);
      expect(sha256(got.bytes)).toBe(ev.sha256);
      expect(got.bytes.length).toBe(ev.bytes);
      expect(got.header).toMatchObject({ gatewayId: 'gw-push-mqtt', camera: 'cam-hall', class: 'snapshot', mime: 'image/jpeg' });
      expect(got.header.count).toBeGreaterThan(1); // it really went in chunks
      expect(await facesIn(got.bytes)).toBe(0);
      // The unmasked original stays on the gateway.
      const original = await s.gateway.evidence.get(ev.original!);
      expect(await facesIn(original!.bytes)).toBeGreaterThan(0);
      await waitFor('push queue drained', () => (s.gateway.health().evidencePush?.pending === 0 ? true : undefined));
      expect(s.gateway.health().evidencePush).toMatchObject({
        sink: 'mqtt',
        delivered: 1,
        dropped: { full: 0, expired: 0, undeliverable: 0 },
      });
      expect(collector.refused).toEqual([]);
    } finally {
      await s.stop();
      await incidents.close();
      await collector.close();
    }
  }, 60_000);
});

describe('evidence reassembled by a client we did not write', () => {
  it('the Python reference reassembler (Eclipse Paho) writes the object the incident names', async () => {
    const out = await tempDir('py-evidence');
    const py = spawn(
      '/usr/bin/python3',
      [
        path.join(PACKAGE_ROOT, 'docs', 'examples', 'reassemble_evidence.py'),
        '--url',
        mosquitto.url,
        '--out',
        out,
        '--count',
        '1',
        '--topic',
        'gridedge/v1/+/gw-push-py/evidence/+',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let said = '';
    py.stdout.on('data', (d: Buffer) => (said += d.toString()));
    py.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<number | null>((r) => py.once('exit', r));
    const incidents = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-push-py/incident');
    let s: Site | undefined;
    try {
      await waitFor('python subscribed', () => (said.includes('subscribed') ? true : undefined), 10_000);
      s = await site('gw-push-py', mosquitto.url, { push: { chunkBytes: 4096 } }, photos.url);
      await s.alarm.alarm(3.3);
      const m = await incidents.waitFor<IncidentMessage>('alarm', '/incident', (x) => x.evidence.length > 0, 20_000);
      const ev = m.evidence[0]!;
      expect(await exited, said).toBe(0);
      const line = JSON.parse(said.trim().split('\n').at(-1)!) as { sha256: string; file: string; gateway: string };
      expect(line).toMatchObject({ sha256: ev.sha256, gateway: 'gw-push-py' });
      expect(sha256(await readFile(line.file))).toBe(ev.sha256);
    } finally {
      py.kill();
      await s?.stop();
      await incidents.close();
    }
  }, 60_000);
});

describe('evidence pushed to an HTTP server (http sink)', () => {
  let server: Server;
  let base: string;
  const received = new Map<string, { bytes: Buffer; headers: Record<string, string | string[] | undefined> }>();
  let failFirst = 2;
  let unauthorised = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.headers.authorization !== 'Bearer http-sink-token-1') {
          unauthorised++;
          res.writeHead(401).end();
        } else if (failFirst-- > 0) {
          res.writeHead(503).end('busy'); // the server is down for a moment: the gateway retries
        } else {
          received.set(req.url!, { bytes: Buffer.concat(chunks), headers: req.headers });
          res.writeHead(201).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('PUTs the object to <url>/<key> with its sha256, retrying through 503s', async () => {
    const incidents = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-push-http/incident');
    const s = await site(
      'gw-push-http',
      mosquitto.url,
      { push: { sink: 'http', http: { url: base, token: 'http-sink-token-1', publicUrl: 'https://oss.example.cn/ev' } } },
      photos.url,
    );
    try {
      await s.alarm.alarm(2.7);
      const m = await incidents.waitFor<IncidentMessage>('alarm', '/incident', (x) => x.evidence.length > 0, 20_000);
      const ev = m.evidence[0]!;
      const key = `gridedge/gw-push-http/${ev.sha256}.jpg`;
      expect(ev.delivery).toEqual({ sink: 'http', key, url: `https://oss.example.cn/ev/${key}` });
      const got = await waitFor('object PUT', () => received.get(`/upload/${key}`), 20_000);
      expect(sha256(got.bytes)).toBe(ev.sha256);
      expect(got.headers).toMatchObject({
        'x-gridedge-sha256': ev.sha256,
        'x-gridedge-gateway': 'gw-push-http',
        'content-type': 'image/jpeg',
      });
      expect(s.gateway.counters.get('evidence_push_errors_total', { sink: 'http' })).toBe(2);
      expect(unauthorised).toBe(0);
      // No line of the health answer holds the token.
      expect(JSON.stringify(s.gateway.health())).not.toContain('http-sink-token-1');
    } finally {
      await s.stop();
      await incidents.close();
    }
  }, 60_000);
});

describe('evidence pushed to S3-compatible storage (s3 sink, against s3rver)', () => {
  it('puts the object in the bucket under its key, with its checksum', async () => {
    const { default: S3rver } = await import('s3rver');
    const dir = await tempDir('s3rver');
    const s3 = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: 'evidence', configs: [] }],
    });
    const { port } = await s3.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const incidents = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-push-s3/incident');
    // s3rver's built-in credentials; it checks the request signature against them.
    const s = await site(
      'gw-push-s3',
      mosquitto.url,
      { push: { sink: 's3', s3: { endpoint, bucket: 'evidence', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } },
      photos.url,
    );
    try {
      await s.alarm.alarm(2.9);
      const m = await incidents.waitFor<IncidentMessage>('alarm', '/incident', (x) => x.evidence.length > 0, 20_000);
      const ev = m.evidence[0]!;
      const key = `gridedge/gw-push-s3/${ev.sha256}.jpg`;
      expect(ev.delivery).toEqual({ sink: 's3', key: `evidence/${key}` });
      // s3rver writes an object in place (a reader may catch it half written): read until it is whole.
      let last = '';
      const bytes = await waitFor(
        'the whole object in the bucket',
        async () => {
          const res = await fetch(`${endpoint}/evidence/${key}`);
          if (!res.ok) return undefined;
          const b = Buffer.from(await res.arrayBuffer());
          last = `${b.length} bytes, sha256 ${sha256(b)}`;
          return sha256(b) === ev.sha256 ? b : undefined;
        },
        20_000,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; last read ${last}, expected ${ev.bytes} bytes`);
      });
      expect(bytes.length).toBe(ev.bytes);
    } finally {
      await s.stop();
      await incidents.close();
      await s3.close();
    }
  }, 60_000);
});

describe('evidence pushed across an upstream outage and kill -9s', () => {
  it('delivers every object an incident names, byte-identical, none lost', async () => {
    const broker = await startMosquitto({ persistent: true });
    const dir = await tempDir('push-crash');
    const brokerPort = await freePort();
    const file = path.join(dir, 'gw.yaml');
    const ALARMS = 5;
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-push-crash',
        `  grid: "${GRID}"`,
        '  dataDir: ./data',
        '  logLevel: warn',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        'api:',
        `  port: ${await freePort()}`,
        'upstream:',
        `  url: ${broker.url}`,
        'evidence:',
        '  push:',
        '    chunkBytes: 8192',
        'devices:',
        ...Array.from({ length: ALARMS }, (_, i) => [
          `  - id: smoke-${i}`,
          '    kind: smoke-alarm',
          `    secret: smoke-secret-${i}`,
        ]).flat(),
        'cameras:',
        `  - { id: cam-hall, snapshot: "${photos.url}", source: snapshot, fps: 0.2 }`,
      ].join('\n'),
    );
    // The platform's sessions persist on its broker: what the gateway sends while the platform is away is kept for it.
    const incidents = await UpstreamSubscriber.connect(broker.url, 'gridedge/v1/+/gw-push-crash/incident', undefined, 'platform-inc');
    const collector = await EvidenceCollector.connect(broker.url, 'gridedge/v1/+/gw-push-crash/evidence/+', 'platform-ev');
    const start = async (): Promise<Run> => {
      const run = gridedge(['start', '--config', file], {}, 120_000);
      await waitFor('gateway broker up', () => canConnect(brokerPort).then((ok) => ok || undefined), 15_000);
      return run;
    };
    const pending = () => readdir(path.join(dir, 'data', 'evidence-push')).then((f) => f.filter((n) => n.endsWith('.json')).length);
    let run: Run | undefined;
    try {
      await broker.pause(); // the upstream is down
      run = await start();
      for (let i = 0; i < ALARMS; i++) {
        const alarm = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${brokerPort}`, id: `smoke-${i}`, secret: `smoke-secret-${i}` });
        await alarm.connect();
        await alarm.alarm(2 + i / 10); // resolves on PUBACK: the gateway has the alarm
        alarm.kill();
      }
      await waitFor('every snapshot queued for push', async () => ((await pending()) >= ALARMS ? true : undefined), 20_000);
      // ... and every incident update naming one stored (the snapshot joins its incident just after the alarm's PUBACK;
      // a kill between the two would leave the snapshot pushed but named by no incident).
      const namedInOutbox = async () => {
        const log = await readFile(path.join(dir, 'data', 'outbox', 'outbox.log'), 'utf8').catch(() => '');
        const ids = new Set<string>();
        for (const line of log.split('\n')) {
          if (!line.includes('"evidence":[{')) continue;
          ids.add((JSON.parse(line) as { m?: { id: string } }).m?.id ?? '');
        }
        return ids.size;
      };
      await waitFor(
        'every incident naming its snapshot stored',
        async () => ((await namedInOutbox()) >= ALARMS ? true : undefined),
        20_000,
      );
      run.kill('SIGKILL'); // the gateway dies with the upstream down and everything queued
      await run.code;
      await broker.resume();
      run = await start();
      // Killed again as soon as the first object is through: the rest are mid-delivery.
      await waitFor('first object through', () => (collector.objects.size > 0 ? true : undefined), 30_000);
      run.kill('SIGKILL');
      await run.code;
      run = await start();
      const named = await waitFor(
        'every alarm upstream with its snapshot',
        () => {
          // The snapshot joins the incident in an update once the camera answered.
          const withEvidence = incidents.json<IncidentMessage>('/incident').filter((m) => m.evidence.length > 0);
          return new Set(withEvidence.map((m) => m.id)).size >= ALARMS ? withEvidence : undefined;
        },
        30_000,
      );
      const shas = new Set(named.flatMap((m) => m.evidence.map((e) => e.sha256)));
      expect(shas.size).toBeGreaterThanOrEqual(ALARMS); // a different photo each time
      for (const sha of shas) {
        const got = await collector.waitFor(sha, 30_000);
        expect(sha256(got.bytes)).toBe(sha);
      }
      await waitFor('push queue empty', async () => ((await pending()) === 0 ? true : undefined), 30_000);
      expect(collector.refused).toEqual([]);
    } finally {
      run?.kill('SIGTERM');
      await run?.code;
      await incidents.close();
      await collector.close();
      await broker.stop();
    }
  }, 180_000);
});
