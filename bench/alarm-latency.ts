/**
 * Alarm latency under load: a smoke alarm published → the incident received on the upstream
 * broker (a real mosquitto), while background devices send telemetry at a steady rate through
 * the same gateway into a real victoria-metrics. Prints p50/p95/p99 and writes
 * bench/results/alarm-latency-<date>.json.
 * Run: npm run bench:latency [-- --rate 5000 --alarms 200]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import mqtt from 'mqtt';
import { resolveConfig } from '../gateway/config/load.js';
import { arg } from './args.js';
import { Gateway } from '../gateway/gateway.js';
import type { IncidentMessage } from '../gateway/incidents/schema.js';
import { createLogger } from '../gateway/log.js';
import { startMosquitto, startVictoriaMetrics } from '../test/helpers/servers.js';
import { removeTempDirs, tempDir } from '../test/helpers/tmp.js';

const RATE = arg('rate', 5000);
const ALARMS = arg('alarms', 200);
const LOADERS = 20;

const [mosquitto, vm] = await Promise.all([startMosquitto(), startVictoriaMetrics()]);
const dataDir = await tempDir('bench-latency');
const loaders = Array.from({ length: LOADERS }, (_, i) => `load-${i}`);
const gw = new Gateway(
  resolveConfig({
    gateway: { id: 'bench-lat', grid: '110105001002000', dataDir, logLevel: 'error' },
    broker: { host: '127.0.0.1', port: 0, maxPublishPerSecond: 100_000, publishBurst: 1_000_000 },
    api: { port: 0 },
    upstream: { url: mosquitto.url },
    influx: { url: vm.url, token: 't', org: 'o', bucket: 'b', batchSize: 5000, flushIntervalMs: 200 },
    devices: [...loaders, 'alarm-1'].map((id) => ({ id, kind: 'smoke-alarm', secret: `secret-of-${id}` })),
  }, 'bench', dataDir, {}),
  createLogger('error'),
);
const ports = await gw.start();
const url = `mqtt://127.0.0.1:${ports.broker}`;

const platform = await mqtt.connectAsync(mosquitto.url, { clientId: 'platform' });
const arrivals = new Map<number, number>();
platform.on('message', (_t, p) => {
  const m = JSON.parse(p.toString()) as IncidentMessage;
  if (m.type === 'new' && typeof m.facts.smokeDensity === 'number') arrivals.set(Math.round(m.facts.smokeDensity * 1000), performance.now());
});
await platform.subscribeAsync('gridedge/v1/+/+/incident', { qos: 1 });
await new Promise((r) => setTimeout(r, 500)); // the uplink connects

// Background load: RATE messages/s spread over LOADERS devices, QoS 1, paced every 10 ms.
const pubs = await Promise.all(loaders.map((id) => mqtt.connectAsync(url, { clientId: id, username: id, password: `secret-of-${id}` })));
let loadSent = 0;
const perTick = RATE / 100;
let carry = 0;
const load = setInterval(() => {
  carry += perTick;
  while (carry >= 1) {
    carry--;
    const p = pubs[loadSent % LOADERS]!;
    p.publish(`dev/${loaders[loadSent % LOADERS]}/telemetry`, JSON.stringify({ battery: 80, smokeDensity: 0.01 }), { qos: 1 });
    loadSent++;
  }
}, 10);
await new Promise((r) => setTimeout(r, 1000)); // load settles

const alarm = await mqtt.connectAsync(url, { clientId: 'alarm-1', username: 'alarm-1', password: 'secret-of-alarm-1' });
const sentAt = new Map<number, number>();
const loadStart = loadSent;
const t0 = performance.now();
for (let i = 1; i <= ALARMS; i++) {
  sentAt.set(i, performance.now());
  await alarm.publishAsync('dev/alarm-1/event', JSON.stringify({ event: 'alarm', smokeDensity: i / 1000 }), { qos: 1 });
  await alarm.publishAsync('dev/alarm-1/event', JSON.stringify({ event: 'clear' }), { qos: 1 });
  await new Promise((r) => setTimeout(r, 20));
}
const deadline = Date.now() + 10_000;
while (arrivals.size < ALARMS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const achievedRate = (loadSent - loadStart) / ((performance.now() - t0) / 1000);
clearInterval(load);

const latencies = [...sentAt].flatMap(([i, at]) => (arrivals.has(i) ? [arrivals.get(i)! - at] : [])).sort((a, b) => a - b);
const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 10) / 10;
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
};
console.log('\nalarm latency (smoke alarm published → incident on the upstream broker)');
console.log('  background telemetry  %d msg/s (target %d)', result.backgroundAchieved, RATE);
console.log('  alarms                %d sent, %d received', ALARMS, latencies.length);
console.log('  latency               p50 %s ms, p95 %s ms, p99 %s ms   (goal p99 ≤ 10 ms)', result.p50Ms, result.p95Ms, result.p99Ms);
await mkdir('bench/results', { recursive: true });
const file = `bench/results/alarm-latency-${result.date.slice(0, 10)}.json`;
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`  written to ${file}`);

await Promise.all([...pubs, alarm, platform].map((c) => c.endAsync(true)));
await gw.stop();
await Promise.all([mosquitto.stop(), vm.stop()]);
await removeTempDirs();
process.exit(0);
