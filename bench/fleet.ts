/**
 * Fleet benchmark: 10,000 simulated MQTT devices from this one process against a gateway in its
 * own process (`gridedge start`, built code). Reports the time to connect the fleet, the steady
 * rate of readings the gateway takes in, the gateway's RSS, and the simulator's own RSS per device.
 * Run: npm run bench:fleet [-- --devices 10000 --rate 500 --every 30 --seconds 60]
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { runScenario } from '../sim/scenario/runner.js';
import type { Scenario } from '../sim/scenario/schema.js';
import { gridedge } from '../test/helpers/cli.js';
import { freePort, waitFor } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/tmp.js';
import { arg } from './args.js';

const DEVICES = arg('devices', 10_000);
const RATE = arg('rate', 500);
const EVERY = arg('every', 30);
const SECONDS = arg('seconds', 60);
const TOKEN = 'bench-fleet-token-0123456789';
const SECRET = 'bench-fleet-secret';
const GRID = '110105001002001';

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function messagesIn(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return [...text.matchAll(/^gridedge_messages_in_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

async function main(): Promise<void> {
  const dir = await tempDir('bench-fleet');
  const [brokerPort, apiPort] = [await freePort(), await freePort()];
  const width = String(DEVICES).length;
  const ids = Array.from({ length: DEVICES }, (_, i) => `fl-smoke-${String(i + 1).padStart(width, '0')}`);
  const config = {
    gateway: { id: 'gw-bench-fleet', grid: '110105001002000', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
    broker: { host: '127.0.0.1', port: brokerPort, maxConnections: DEVICES + 100, statsIntervalSeconds: 0 },
    api: { host: '127.0.0.1', port: apiPort, tokens: [{ name: 'bench', token: TOKEN, role: 'read' }] },
    devices: ids.map((id) => ({ id, kind: 'smoke-alarm', grid: GRID, secret: SECRET, heartbeatSeconds: 0 })),
  };
  const file = path.join(dir, 'gridedge.yaml');
  await writeFile(file, stringify(config));
  process.stderr.write(`starting a gateway with ${DEVICES} devices in its config…\n`);
  const gw = gridedge(['start', '--config', file], {}, 3_600_000);
  const api = `http://127.0.0.1:${apiPort}`;
  try {
    await waitFor(
      'the gateway',
      async () =>
        (await fetch(`${api}/readyz`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      120_000,
    );
    const gatewayIdleMiB = rssMiB(gw.pid!);
    const simBefore = process.memoryUsage().rss / 1024 / 1024;
    const scenario: Scenario = {
      name: `${DEVICES} smoke alarms`,
      seed: 1,
      duration: SECONDS,
      connectRate: RATE,
      failOnFalseAlarms: false,
      fleet: [
        {
          kind: 'smoke-alarm',
          count: DEVICES,
          grid: GRID,
          idPrefix: 'fl-smoke-',
          secret: SECRET,
          telemetryEvery: EVERY,
          batteryDrainPerHour: 0,
        },
      ],
      timeline: [],
      expect: [],
      faults: [],
    };
    let steady: { messages: number; seconds: number } | undefined;
    let connected = false;
    let gatewayPeakMiB = gatewayIdleMiB;
    let simPeakMiB = simBefore;
    const sampler = setInterval(() => {
      gatewayPeakMiB = Math.max(gatewayPeakMiB, rssMiB(gw.pid!));
      simPeakMiB = Math.max(simPeakMiB, process.memoryUsage().rss / 1024 / 1024);
    }, 1000);
    // The steady rate is taken over the second half of the run, once every device has sent.
    const measuring = (async () => {
      await waitFor('the fleet connected', () => connected || undefined, 3_600_000);
      await new Promise((r) => setTimeout(r, (SECONDS / 2) * 1000));
      const m0 = await messagesIn(api);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, (SECONDS / 2 - 2) * 1000));
      steady = { messages: (await messagesIn(api)) - m0, seconds: (Date.now() - t0) / 1000 };
    })();
    const report = await runScenario(scenario, {
      target: `mqtt://127.0.0.1:${brokerPort}`,
      progress: (line) => {
        if (/connected in/.test(line)) connected = true;
        process.stderr.write(`${line}\n`);
      },
    });
    await measuring;
    clearInterval(sampler);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      devices: DEVICES,
      connectRate: RATE,
      telemetryEverySeconds: EVERY,
      connectSeconds: report.connectSeconds,
      offeredPerSecond: DEVICES / EVERY,
      steadyMessagesPerSecond: steady ? steady.messages / steady.seconds : NaN,
      gatewayRssMiB: { idle: gatewayIdleMiB, peak: gatewayPeakMiB },
      simulatorRssMiB: { before: simBefore, peak: simPeakMiB, perDeviceKiB: ((simPeakMiB - simBefore) * 1024) / DEVICES },
      sent: report.sent,
    };
    const f = (n: number, d = 1) => n.toFixed(d);
    process.stdout.write(
      `${[
        `fleet: ${DEVICES} simulated smoke alarms from one process, connecting at ${RATE}/s, a reading every ${EVERY} s (±20 %), ` +
          `${SECONDS} s (${result.machine.cpus} cores)`,
        `connected in ${f(result.connectSeconds)} s`,
        `steady rate taken in by the gateway: ${f(result.steadyMessagesPerSecond)} messages/s (offered ${f(result.offeredPerSecond)}/s)`,
        `gateway RSS: ${f(gatewayIdleMiB)} MiB with no device connected, ${f(gatewayPeakMiB)} MiB at peak ` +
          `(${f(((gatewayPeakMiB - gatewayIdleMiB) * 1024) / DEVICES, 1)} KiB per connected device)`,
        `simulator RSS: ${f(simBefore)} MiB before, ${f(simPeakMiB)} MiB at peak: ${f(result.simulatorRssMiB.perDeviceKiB)} KiB per ` +
          `simulated device`,
      ].join('\n')}\n`,
    );
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    const out = new URL(`./results/fleet-${result.date.slice(0, 10)}-${DEVICES}-at${RATE}.json`, import.meta.url);
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`written ${out.pathname}\n`);
  } finally {
    gw.kill('SIGTERM');
    await gw.code;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:fleet failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
