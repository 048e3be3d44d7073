/**
 * Ingest benchmark: QoS 1 telemetry from simulated devices, measured in one run on the same load:
 *   raw       publisher → aedes → one subscriber (no processing), the pass-through baseline;
 *   gateway   devices → embedded broker → decode, validate, rules → series batch written to a real
 *             victoria-metrics (InfluxDB write API), counted only once every point is stored;
 *   Node-RED  devices → mosquitto → Node-RED 4 (its own process: mqtt in → json → function →
 *             influxdb out, node-red-contrib-influxdb in 2.0 mode) → the same victoria-metrics,
 *             counted once every point is stored.
 * Prints messages/s and the ratios, and writes bench/results/ingest-<date>.json.
 * Run: npm run bench:ingest [-- --messages 100000 --devices 10 --nodered-messages 10000]
 * (needs victoria-metrics and mosquitto: npm test installs them)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import net from 'node:net';
import os from 'node:os';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { resolveConfig } from '../gateway/config/load.js';
import { arg } from './args.js';
import { Gateway } from '../gateway/gateway.js';
import { createLogger } from '../core/log.js';
import { freePort, startMosquitto, startVictoriaMetrics, waitFor } from '../test/helpers/servers.js';
import { tempDir, removeTempDirs } from '../test/helpers/tmp.js';

const MESSAGES = arg('messages', 60_000);
// Node-RED writes one point per HTTP request: a smaller load keeps its run to a minute or two.
const NR_MESSAGES = arg('nodered-messages', 10_000);
const DEVICES = arg('devices', 10);
const WINDOW = 500; // QoS 1 messages in flight per publisher

const T0 = Date.now() - 60_000;

function payload(i: number): string {
  // A distinct device time per reading (one ms apart): two readings of one series at the same
  // instant are one sample to a time-series store, and the check below counts samples.
  return JSON.stringify({ ts: T0 + i, battery: 50 + (i % 50), smokeDensity: (i % 100) / 1000, temperature: 20 + (i % 10) / 10 }).padEnd(
    120,
    ' ',
  );
}

/** Publishes `count` QoS 1 messages keeping WINDOW in flight; resolves when every PUBACK is in. */
function pump(client: MqttClient, topic: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      while (sent < count && sent - acked < WINDOW) {
        const i = sent++;
        client.publish(topic, payload(i), { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked++;
          if (acked === count) resolve();
          else next();
        });
      }
    };
    next();
  });
}

async function raw(): Promise<number> {
  const broker = await Aedes.createBroker();
  const server = net.createServer((s) => broker.handle(s));
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${port}`;
  const sub = await mqtt.connectAsync(url, { clientId: 'sub' });
  let got = 0;
  const all = new Promise<void>((r) => sub.on('message', () => ++got === MESSAGES && r()));
  await sub.subscribeAsync('dev/+/telemetry', { qos: 1 });
  const pubs = await Promise.all(Array.from({ length: DEVICES }, (_, i) => mqtt.connectAsync(url, { clientId: `pub-${i}` })));
  const t0 = performance.now();
  await Promise.all(pubs.map((p, i) => pump(p, `dev/d${i}/telemetry`, MESSAGES / DEVICES)));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([...pubs, sub].map((c) => c.endAsync()));
  await new Promise<void>((r) => broker.close(() => r()));
  server.close();
  return MESSAGES / seconds;
}

async function gateway(): Promise<{ rate: number; stored: number }> {
  const vm = await startVictoriaMetrics();
  const dataDir = await tempDir('bench');
  const ids = Array.from({ length: DEVICES }, (_, i) => `d${i}`);
  const gw = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'bench', grid: '110105001002000', dataDir, logLevel: 'error' },
        broker: { host: '127.0.0.1', port: 0, maxPublishPerSecond: 100_000, publishBurst: 1_000_000 }, // a load test, not a device
        api: { port: 0 },
        influx: { url: vm.url, token: 't', org: 'o', bucket: 'b', batchSize: 5000, flushIntervalMs: 200 },
        devices: ids.map((id) => ({ id, kind: 'smoke-alarm', secret: `secret-of-${id}` })),
      },
      'bench',
      dataDir,
      {},
    ),
    createLogger('error'),
  );
  const ports = await gw.start();
  const url = `mqtt://127.0.0.1:${ports.broker}`;
  const pubs = await Promise.all(ids.map((id) => mqtt.connectAsync(url, { clientId: id, username: id, password: `secret-of-${id}` })));
  const t0 = performance.now();
  await Promise.all(pubs.map((p, i) => pump(p, `dev/${ids[i]}/telemetry`, MESSAGES / DEVICES)));
  await gw.sink.flush();
  await waitFor('every point written', () => (gw.sink.stats().written >= MESSAGES ? true : undefined), 120_000, 5);
  const seconds = (performance.now() - t0) / 1000;
  const stored = (await vm.exportSeries('smoke_alarm_battery')).reduce((n, s) => n + s.values.length, 0);
  await Promise.all(pubs.map((c) => c.endAsync()));
  await gw.stop();
  await vm.stop();
  return { rate: MESSAGES / seconds, stored };
}

/** The same load through mosquitto and Node-RED's mqtt in → json → function → influxdb out flow. */
async function nodeRed(messages: number): Promise<{ rate: number; stored: number }> {
  const vm = await startVictoriaMetrics();
  const mosquitto = await startMosquitto();
  const dir = await tempDir('nodered');
  const uiPort = await freePort();
  // Node-RED reads any property equal to a node's id as a reference to it: ids here are opaque.
  const flows = [
    { id: 'f1000001', type: 'tab', label: 'ingest' },
    {
      id: 'c1000001',
      type: 'mqtt-broker',
      name: 'mosquitto',
      broker: '127.0.0.1',
      port: String(mosquitto.port),
      clientid: 'nodered-bench',
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      autoConnect: true,
    },
    {
      id: 'c1000002',
      type: 'influxdb',
      name: 'victoria-metrics',
      influxdbVersion: '2.0',
      url: vm.url,
      timeout: '10',
      rejectUnauthorized: false,
    },
    {
      id: 'n1000001',
      type: 'mqtt in',
      z: 'f1000001',
      topic: 'dev/+/telemetry',
      qos: '1',
      datatype: 'utf8',
      broker: 'c1000001',
      nl: false,
      rap: true,
      inputs: 0,
      wires: [['n1000002']],
    },
    { id: 'n1000002', type: 'json', z: 'f1000001', property: 'payload', action: 'obj', pretty: false, wires: [['n1000003']] },
    {
      id: 'n1000003',
      type: 'function',
      z: 'f1000001',
      outputs: 1,
      wires: [['n1000004']],
      func:
        'const p = msg.payload;\nmsg.payload = [{ battery: p.battery, smokeDensity: p.smokeDensity, temperature: p.temperature, ' +
        "time: new Date(p.ts) }, { device: msg.topic.split('/')[1] }];\nreturn msg;",
    },
    {
      id: 'n1000004',
      type: 'influxdb out',
      z: 'f1000001',
      influxdb: 'c1000002',
      measurement: 'nodered_smoke',
      precision: 'ms',
      org: 'o',
      bucket: 'b',
      wires: [],
    },
  ];
  await writeFile(path.join(dir, 'flows.json'), JSON.stringify(flows));
  await writeFile(path.join(dir, 'flows_cred.json'), JSON.stringify({ c1000002: { token: 't' } }));
  await writeFile(
    path.join(dir, 'settings.js'),
    `module.exports = { uiPort: ${uiPort}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, userDir: ` +
      `${JSON.stringify(dir)}, logging: { console: { level: 'warn' } }, editorTheme: { tours: false } };\n`,
  );
  const red = spawn(
    process.execPath,
    [createRequire(import.meta.url).resolve('node-red/red.js'), '--settings', path.join(dir, 'settings.js'), '--userDir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  red.stdout.on('data', (d: Buffer) => (log += d.toString()));
  red.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    // Started when its MQTT subscription is live: a retained probe reaches it, and shows in its store.
    await waitFor(
      'Node-RED subscribed',
      async () =>
        (await fetch(`http://127.0.0.1:${uiPort}/flows`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      60_000,
    );
    const probe = await mqtt.connectAsync(mosquitto.url, { clientId: 'probe' });
    await waitFor(
      'Node-RED storing',
      async () => {
        await probe.publishAsync('dev/probe/telemetry', JSON.stringify({ ts: T0 - 1000, battery: 1, smokeDensity: 0, temperature: 1 }), {
          qos: 1,
        });
        return (await vm.exportSeries('nodered_smoke_battery')).length > 0 || undefined;
      },
      60_000,
      500,
    );
    await probe.endAsync();
    const pubs = await Promise.all(
      Array.from({ length: DEVICES }, (_, i) => mqtt.connectAsync(mosquitto.url, { clientId: `nr-pub-${i}` })),
    );
    const t0 = performance.now();
    await Promise.all(pubs.map((p, i) => pump(p, `dev/d${i}/telemetry`, messages / DEVICES)));
    const count = async () =>
      (await vm.exportSeries('nodered_smoke_battery')).filter((s) => s.metric.device !== 'probe').reduce((n, s) => n + s.values.length, 0);
    let stored = 0;
    await waitFor(
      'every point stored by Node-RED',
      async () => {
        stored = await count();
        return stored >= messages ? true : undefined;
      },
      600_000,
      200,
    );
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(pubs.map((c) => c.endAsync()));
    return { rate: messages / seconds, stored };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nNode-RED said:\n${log.slice(-2000)}`);
  } finally {
    red.kill('SIGTERM');
    await once(red, 'exit');
    await mosquitto.stop();
    await vm.stop();
  }
}

const rawRate = await raw();
const gw = await gateway();
process.stderr.write(`Node-RED 4 on ${NR_MESSAGES} messages…\n`);
const nr = await nodeRed(NR_MESSAGES);
await removeTempDirs();
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  command: `npm run bench:ingest -- --messages ${MESSAGES} --devices ${DEVICES}`,
  messages: MESSAGES,
  devices: DEVICES,
  rawAedesPerSecond: Math.round(rawRate),
  gatewayPerSecond: Math.round(gw.rate),
  gatewayOverRaw: Math.round((gw.rate / rawRate) * 100) / 100,
  pointsStored: gw.stored,
  nodeRedMessages: NR_MESSAGES,
  nodeRedPerSecond: Math.round(nr.rate),
  nodeRedPointsStored: nr.stored,
  gatewayOverNodeRed: Math.round((gw.rate / nr.rate) * 100) / 100,
};
console.log('\ningest, QoS 1, %d messages from %d devices', MESSAGES, DEVICES);
console.log('  raw aedes pass-through   %s msg/s', result.rawAedesPerSecond.toLocaleString('en'));
console.log(
  '  gateway full path        %s msg/s   (%d points stored in victoria-metrics)',
  result.gatewayPerSecond.toLocaleString('en'),
  gw.stored,
);
console.log(
  '  Node-RED 4 + mosquitto   %s msg/s   (%d of %d points stored; mqtt in → json → function → influxdb out)',
  result.nodeRedPerSecond.toLocaleString('en'),
  nr.stored,
  NR_MESSAGES,
);
console.log('  gateway / raw            %s   (goal ≥ 0.8)', result.gatewayOverRaw);
console.log('  gateway / Node-RED       %s   (goal ≥ 3)', result.gatewayOverNodeRed);
if (gw.stored !== MESSAGES) console.log('  WARNING: %d of %d points stored', gw.stored, MESSAGES);
await mkdir('bench/results', { recursive: true });
const file = `bench/results/ingest-${result.date.slice(0, 10)}.json`;
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`  written to ${file}`);
process.exit(0);
