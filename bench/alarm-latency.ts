/**
 * Alarm latency under load: a smoke alarm published → the incident received on the upstream
 * broker (a real mosquitto), while background devices send telemetry at a steady rate through
 * the same gateway into a real victoria-metrics. Prints p50/p95/p99 and writes
 * bench/results/alarm-latency-<date>.json.
 * The gateway runs in its own process (`gridedge start`, built code) and the load generator on
 * its own thread, so neither the generator nor the measuring code shares the gateway's event loop.
 * Run: npm run bench:latency [-- --rate 5000 --alarms 1000]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { arg } from './args.js';
import type { IncidentMessage } from '../contracts/incident.js';
import { gridedge } from '../test/helpers/cli.js';
import { freePort, startMosquitto, startVictoriaMetrics, waitFor } from '../test/helpers/servers.js';
import { removeTempDirs, tempDir } from '../test/helpers/tmp.js';

const RATE = arg('rate', 5000);
// 1,000 alarms: with 200, p99 is the second-worst sample, a measure of luck more than of the tail.
const ALARMS = arg('alarms', 1000);
const LOADERS = 20;
const TOKEN = 'bench-latency-token-0123456789';

const [mosquitto, vm] = await Promise.all([startMosquitto(), startVictoriaMetrics()]);
const dir = await tempDir('bench-latency');
const loaders = Array.from({ length: LOADERS }, (_, i) => `load-${i}`);
const [brokerPort, apiPort] = [await freePort(), await freePort()];
// The gateway runs as it does in the field: its own process, from the built code.
const configFile = path.join(dir, 'gridedge.yaml');
await writeFile(
  configFile,
  stringify({
    gateway: { id: 'bench-lat', grid: '110105001002000', dataDir: path.join(dir, 'data'), logLevel: 'error' },
    broker: { host: '127.0.0.1', port: brokerPort, maxPublishPerSecond: 100_000, publishBurst: 1_000_000, statsIntervalSeconds: 0 },
    api: { host: '127.0.0.1', port: apiPort, tokens: [{ name: 'bench', token: TOKEN, role: 'read' }] },
    upstream: { url: mosquitto.url },
    influx: { url: vm.url, token: 't', org: 'o', bucket: 'b', batchSize: 5000, flushIntervalMs: 200 },
    devices: [...loaders, 'alarm-1'].map((id) => ({ id, kind: 'smoke-alarm', secret: `secret-of-${id}` })),
  }),
);
const gw = gridedge(['start', '--config', configFile], {}, 600_000);
await waitFor(
  'the gateway',
  async () =>
    (await fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    )) || undefined,
  60_000,
);
const url = `mqtt://127.0.0.1:${brokerPort}`;

const platform = await mqtt.connectAsync(mosquitto.url, { clientId: 'platform' });
const arrivals = new Map<number, number>();
/** Wall-clock times: sent, the incident made in the gateway (its updatedAt), received upstream. */
const stages = new Map<number, { sent: number; made?: number; received?: number }>();
platform.on('message', (_t, p) => {
  const m = JSON.parse(p.toString()) as IncidentMessage;
  if (m.type !== 'new' || typeof m.facts.smokeDensity !== 'number') return;
  const i = Math.round(m.facts.smokeDensity * 1000);
  arrivals.set(i, performance.now());
  const s = stages.get(i);
  if (s) Object.assign(s, { made: Date.parse(m.updatedAt), received: Date.now() });
});
await platform.subscribeAsync('gridedge/v1/+/+/incident', { qos: 1 });
await new Promise((r) => setTimeout(r, 1000)); // the uplink connects

// Background load on a thread of its own, so the generator never delays the alarm's own timing:
// RATE messages/s spread over LOADERS devices, QoS 1, paced every 10 ms.
const load = new Worker(
  `const { parentPort, workerData: w } = require('node:worker_threads');
const mqtt = require('mqtt');
(async () => {
  const connect = (id) => mqtt.connectAsync(w.url, { clientId: id, username: id, password: 'secret-of-' + id });
  const pubs = await Promise.all(w.loaders.map(connect));
  let sent = 0, carry = 0;
  const perTick = w.rate / 100;
  setInterval(() => {
    carry += perTick;
    while (carry >= 1) {
      carry--;
      const i = sent % w.loaders.length;
      pubs[i].publish('dev/' + w.loaders[i] + '/telemetry', JSON.stringify({ battery: 80, smokeDensity: 0.01 }), { qos: 1 });
      sent++;
    }
  }, 10);
  setInterval(() => parentPort.postMessage(sent), 200);
})();`,
  { eval: true, workerData: { url, loaders, rate: RATE } },
);
let loadSent = 0;
load.on('message', (n: number) => (loadSent = n));
await new Promise((r) => setTimeout(r, 1000)); // load settles

const alarm = await mqtt.connectAsync(url, { clientId: 'alarm-1', username: 'alarm-1', password: 'secret-of-alarm-1' });
const sentAt = new Map<number, number>();
// The device's own view: publish → PUBACK with one message in flight, as most field devices
// publish (a telemetry reading and an alarm, each awaited before the next).
const acks: number[] = [];
const acked = async (topic: string, payload: string) => {
  const at = performance.now();
  await alarm.publishAsync(topic, payload, { qos: 1 });
  acks.push(performance.now() - at);
};
const loadStart = loadSent;
const t0 = performance.now();
for (let i = 1; i <= ALARMS; i++) {
  sentAt.set(i, performance.now());
  stages.set(i, { sent: Date.now() });
  await acked('dev/alarm-1/event', JSON.stringify({ event: 'alarm', smokeDensity: i / 1000 }));
  await acked('dev/alarm-1/event', JSON.stringify({ event: 'clear' }));
  await acked('dev/alarm-1/telemetry', JSON.stringify({ battery: 90, smokeDensity: 0.01 }));
  await new Promise((r) => setTimeout(r, 20));
}
const deadline = Date.now() + 10_000;
while (arrivals.size < ALARMS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const achievedRate = (loadSent - loadStart) / ((performance.now() - t0) / 1000);
const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
const lagP99 = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(metrics)?.[1] ?? NaN) * 1000;
await load.terminate();

const latencies = [...sentAt].flatMap(([i, at]) => (arrivals.has(i) ? [arrivals.get(i)! - at] : [])).sort((a, b) => a - b);
const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 10) / 10;
// Where the time goes (millisecond clocks, so only indicative): device → incident made, made → upstream (disk, uplink, mosquitto).
const part = (f: (s: { sent: number; made: number; received: number }) => number) => {
  const xs = [...stages.values()]
    .filter((s): s is { sent: number; made: number; received: number } => s.made !== undefined && s.received !== undefined)
    .map(f)
    .sort((a, b) => a - b);
  return { p50: xs[Math.floor(xs.length / 2)] ?? NaN, p99: xs[Math.min(xs.length - 1, Math.floor(0.99 * xs.length))] ?? NaN };
};
const toIncident = part((s) => s.made - s.sent);
acks.sort((a, b) => a - b);
const ackPct = (p: number) => Math.round(acks[Math.min(acks.length - 1, Math.floor((p / 100) * acks.length))]! * 100) / 100;
const deviceAck = { p50: ackPct(50), p99: ackPct(99), samples: acks.length };
const toUpstream = part((s) => s.received - s.made);
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  command: `npm run bench:latency -- --rate ${RATE} --alarms ${ALARMS}`,
  backgroundTarget: RATE,
  backgroundAchieved: Math.round(achievedRate),
  alarms: ALARMS,
  received: latencies.length,
  p50Ms: pct(50),
  p95Ms: pct(95),
  p99Ms: pct(99),
  gatewayEventLoopLagP99Ms: Math.round(lagP99 * 10) / 10,
  stagesMs: { toIncident, toUpstream },
  deviceAckMs: deviceAck,
};
console.log('\nalarm latency (smoke alarm published → incident on the upstream broker)');
console.log('  background telemetry  %d msg/s (target %d)', result.backgroundAchieved, RATE);
console.log('  alarms                %d sent, %d received', ALARMS, latencies.length);
console.log('  latency               p50 %s ms, p95 %s ms, p99 %s ms   (goal p99 ≤ 10 ms)', result.p50Ms, result.p95Ms, result.p99Ms);
console.log(
  '  of which               published → incident made p50 %d, p99 %d ms; made → upstream p50 %d, p99 %d ms',
  toIncident.p50,
  toIncident.p99,
  toUpstream.p50,
  toUpstream.p99,
);
console.log(
  '  device PUBACK         p50 %s ms, p99 %s ms (%d publishes, one in flight: an alarm or reading until it is acked)',
  deviceAck.p50,
  deviceAck.p99,
  deviceAck.samples,
);
console.log('  gateway event loop    lag p99 %s ms (its own process)', result.gatewayEventLoopLagP99Ms);
await mkdir('bench/results', { recursive: true });
const file = `bench/results/alarm-latency-${result.date.slice(0, 10)}.json`;
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`  written to ${file}`);

await Promise.all([alarm, platform].map((c) => c.endAsync(true)));
gw.kill('SIGTERM');
await gw.code;
await Promise.all([mosquitto.stop(), vm.stop()]);
await removeTempDirs();
process.exit(0);
