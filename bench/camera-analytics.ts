/**
 * Smart cameras' own analytics and the city 视图库, measured:
 * - parsing: ISAPI alert-stream parts (multipart split, XML read, repeats folded) and Dahua attach
 *   parts (split at the boundary, `Code=…;data={…}` read) per second on one core;
 * - end to end on loopback, in a running gateway: a Hikvision camera's ANPR read (ISAPI alert stream,
 *   Digest) and a Dahua camera's junction read (eventManager attach, then its snapshot) → the
 *   blocked plate's incident, and a capture camera's GA/T 1400 upload → the object at a simulated
 *   upper 视图库 (masking on), as p50/p95 over `--reads` reads each.
 * Run: npm run bench:camera-analytics [-- --parts 20000 --reads 40]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { MultipartSplitter } from '../devices/camera/analytics.js';
import { parseDahuaEvents } from '../devices/camera/dahua.js';
import { IsapiEventStream } from '../devices/camera/isapi.js';
import { ViidClient } from '../sim/capture-camera.js';
import { SimulatedDahuaCamera } from '../sim/camera/dahua.js';
import { SimulatedIsapiCamera } from '../sim/camera/isapi.js';
import { SimulatedUpperViid } from '../sim/viid-upper.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { PHOTOS } from '../test/helpers/photos.js';
import { waitFor } from '../test/helpers/servers.js';
import { arg } from './args.js';

const PARTS = arg('parts', 20_000);
const READS = arg('reads', 40);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

function isapiParse(): number {
  const alert = (i: number) =>
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n' +
        `<ipAddress>10.0.0.31</ipAddress>\r\n<channelID>${1 + (i % 4)}</channelID>\r\n` +
        `<dateTime>${new Date().toISOString()}</dateTime>\r\n` +
        `<activePostCount>${i}</activePostCount>\r\n<eventType>${i % 2 ? 'fielddetection' : 'VMD'}</eventType>\r\n` +
        '<eventState>active</eventState>\r\n<eventDescription>bench</eventDescription>\r\n</EventNotificationAlert>\r\n',
    );
  const stream = Buffer.concat(
    Array.from({ length: PARTS }, (_, i) => {
      const body = alert(i);
      return Buffer.concat([Buffer.from(`--boundary\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    }),
  );
  const reader = new IsapiEventStream({ url: 'http://127.0.0.1:9', listen: false });
  let events = 0;
  reader.on('event', () => events++);
  const splitter = new MultipartSplitter('boundary');
  const t0 = process.hrtime.bigint();
  let parts = 0;
  for (let at = 0; at < stream.length; at += 16_384) {
    const got = splitter.push(stream.subarray(at, at + 16_384));
    parts += got.length;
    reader.receive(got);
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  reader.stop();
  if (events !== 4) throw new Error(`expected 4 folded events (motion on channels 1 and 3, intrusion on 2 and 4), got ${events}`);
  return Math.round(parts / s);
}

function dahuaParse(): number {
  const data = JSON.stringify({ Direction: 'LeftToRight', Object: { ObjectType: 'Human', BoundingBox: [1, 2, 3, 4] }, UTC: 1 }, null, 3);
  const stream = Buffer.from(
    Array.from(
      { length: PARTS },
      (_, i) =>
        '--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n' +
        `Code=CrossLineDetection;action=Pulse;index=${i % 4};data=${data}\r\n`,
    ).join(''),
  );
  const splitter = new MultipartSplitter('myboundary', false);
  const t0 = process.hrtime.bigint();
  let events = 0;
  for (let at = 0; at < stream.length; at += 16_384)
    for (const p of splitter.push(stream.subarray(at, at + 16_384))) events += parseDahuaEvents(p.body.toString('utf8')).length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return Math.round(events / s);
}

async function endToEnd() {
  const hik = new SimulatedIsapiCamera({ password: 'bench-hik', heartbeatMs: 2000 });
  const dahua = new SimulatedDahuaCamera({ password: 'bench-dahua', snapshot: PHOTOS[3]! });
  const upper = new SimulatedUpperViid({ '11010500002000000001': 'bench-viid' });
  await Promise.all([hik.start(), dahua.start(), upper.start()]);
  // Each camera reads plates of its own (京A… the Hikvision, 京B… the Dahua), all blocked: every read is a new incident.
  const plates = (letter: string) => Array.from({ length: READS }, (_, i) => `京${letter}${String(10000 + i)}`);
  const t = await startTestGateway({
    kinds: { 'capture-camera': { blocklist: [...plates('A'), ...plates('B')].map((p) => ({ plate: p, reason: 'bench' })) } },
    captures: { viid: { url: upper.url, deviceId: '11010500002000000001', password: 'bench-viid' } },
    cameras: [
      { id: 'bench-hik', isapi: hik.url, user: 'admin', password: 'bench-hik' },
      { id: 'bench-dahua', dahua: dahua.url, user: 'admin', password: 'bench-dahua' },
    ],
    devices: [{ id: '34020000001190000041', kind: 'capture-camera', secret: 'bench-viid-cam' }],
  });
  try {
    await waitFor('streams open', () => (hik.openStreams && dahua.openStreams ? true : undefined), 10_000);
    const latency = async (send: (plate: string) => void, letter: string) => {
      const out: number[] = [];
      for (const [i, plate] of plates(letter).entries()) {
        const from = t.incidents.length;
        const t0 = performance.now();
        send(plate);
        await t.waitForIncident('plate', (x) => x.facts.plate === plate, from, 10_000).catch(() => undefined);
        out.push(performance.now() - t0);
        if (i % 10 === 9) process.stderr.write(`  ${letter}: ${i + 1}/${READS}\n`);
      }
      return { p50: pct(out, 50), p95: pct(out, 95) };
    };
    const isapi = await latency((plate) => hik.anpr({ plate, plateJpeg: PHOTOS[2]! }), 'A');
    const dahuaMs = await latency((plate) => dahua.plate(plate), 'B');
    const cam = new ViidClient(t.apiUrl, '34020000001190000041', 'bench-viid-cam');
    await cam.register();
    const up: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t0 = performance.now();
      await cam.postFaces([cam.face({ id: `BENCH-${i}`, image: PHOTOS[i % PHOTOS.length]! })]);
      await waitFor('upstream', () => (upper.received.filter((r) => r.resource === 'Faces').length > i ? true : undefined), 20_000);
      up.push(performance.now() - t0);
    }
    return {
      isapiAnprToIncidentMs: isapi,
      dahuaJunctionToIncidentMs: dahuaMs,
      viidUploadToUpperMs: { p50: pct(up, 50), p95: pct(up, 95) },
    };
  } finally {
    await t.stop();
    await Promise.all([hik.stop(), dahua.stop(), upper.stop()]);
  }
}

const result = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  parts: PARTS,
  reads: READS,
  isapiPartsPerSecond: isapiParse(),
  dahuaPartsPerSecond: dahuaParse(),
  ...(await endToEnd()),
};
console.log(JSON.stringify(result, null, 2));
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL(`./results/camera-analytics-${result.date.slice(0, 10)}.json`, import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
