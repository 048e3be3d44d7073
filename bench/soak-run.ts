/**
 * The soak run itself, shared by `npm run soak` (an hour) and the short version in the reliability
 * suite (a few minutes): a realistic community (smoke alarms, gas sensors, LPG readers, a drone,
 * capture cameras) runs against a gateway in its own process, with alarms, leaks and scans on a
 * loop; the gateway's RSS and heap are sampled on a schedule and the trend over the second half
 * (after warm-up) is fitted. A leak shows as a slope that does not flatten.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { runScenario, scenarioDevices, type Report } from '../sim/scenario/runner.js';
import type { Scenario } from '../sim/scenario/schema.js';
import { gridedge } from '../test/helpers/cli.js';
import { freePort, waitFor } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/tmp.js';

const TOKEN = 'soak-token-0123456789abcdef';

export interface SoakSample {
  minute: number;
  rssMiB: number;
  heapMiB: number;
  messagesIn: number;
}

export interface SoakResult {
  date: string;
  machine: { cpus: number; model: string | undefined; node: string };
  minutes: number;
  devices: number;
  samples: SoakSample[];
  secondHalfSlopeMiBPerHour: { rss: number; heap: number };
  /** What the simulator sent, per kind of message. */
  sent: Report['sent'];
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

export async function runSoak(opts: { minutes: number; sampleSeconds: number; progress?: (line: string) => void }): Promise<SoakResult> {
  const MINUTES = opts.minutes;
  const SAMPLE_SECONDS = opts.sampleSeconds;
  const say = opts.progress ?? (() => undefined);
  const duration = MINUTES * 60;
  // The residential compound, bigger, with its events repeating through the whole run.
  const timeline: Scenario['timeline'] = [];
  for (let t = 20; t < duration - 20; t += 60) {
    timeline.push({ at: t, device: 'sk-smoke-007', do: 'alarm', args: { smokeDensity: 3 } });
    timeline.push({ at: t + 15, device: 'sk-smoke-007', do: 'clear' });
    timeline.push({ at: t + 5, device: 'sk-gas-03', do: 'leak', args: { lel: 40, steps: 4 } });
    timeline.push({ at: t + 30, device: 'sk-gas-03', do: 'clear' });
    timeline.push({
      at: t + 10,
      device: 'sk-lpg-1',
      do: 'fill',
      args: { tagId: `CYL${String(t).padStart(4, '0')}`, before: 15.5, after: 29.5 },
    });
    timeline.push({ at: t + 12, device: 'sk-cam-1', do: 'plate', args: { plate: '京D00001' } });
    timeline.push({ at: t + 40, device: 'sk-smoke-100', do: 'garbage', args: { count: 5 } });
  }
  const scenario: Scenario = {
    name: 'soak',
    seed: 9,
    duration,
    connectRate: 200,
    failOnFalseAlarms: false,
    expect: [],
    faults: [],
    timeline,
    fleet: [
      {
        kind: 'smoke-alarm',
        count: 400,
        grid: '110105001002001',
        idPrefix: 'sk-smoke-',
        secret: 'soak-fleet-secret',
        telemetryEvery: 10,
        batteryDrainPerHour: 1,
      },
      {
        kind: 'gas-sensor',
        count: 40,
        grid: '110105001002002',
        idPrefix: 'sk-gas-',
        secret: 'soak-fleet-secret',
        telemetryEvery: 5,
        batteryDrainPerHour: 0,
        options: { valve: true },
      },
      {
        kind: 'lpg-reader',
        count: 4,
        grid: '110105001003001',
        idPrefix: 'sk-lpg-',
        secret: 'soak-fleet-secret',
        telemetryEvery: 30,
        batteryDrainPerHour: 0,
        options: { station: 'ST-A' },
      },
      {
        kind: 'drone',
        count: 1,
        grid: '110105001004001',
        idPrefix: 'sk-drone-',
        secret: 'soak-fleet-secret',
        telemetryEvery: 1,
        batteryDrainPerHour: 20,
        start: { lat: 39.95, lon: 116.45 },
      },
      {
        kind: 'capture-camera',
        count: 2,
        grid: '110105001002004',
        idPrefix: 'sk-cam-',
        secret: 'soak-fleet-secret',
        telemetryEvery: 30,
        batteryDrainPerHour: 0,
      },
    ],
  };
  const dir = await tempDir('soak');
  const [brokerPort, apiPort] = [await freePort(), await freePort()];
  const file = path.join(dir, 'gridedge.yaml');
  await writeFile(
    file,
    stringify({
      gateway: { id: 'gw-soak', grid: '110105001002000', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
      broker: { host: '127.0.0.1', port: brokerPort, statsIntervalSeconds: 10 },
      api: { host: '127.0.0.1', port: apiPort, tokens: [{ name: 'soak', token: TOKEN, role: 'read' }] },
      devices: scenarioDevices(scenario).map((d) => ({
        id: d.id,
        kind: d.kind,
        grid: d.grid,
        secret: d.secret,
        ...(Object.keys(d.options).length ? { options: d.options } : {}),
      })),
    }),
  );
  say(`soak: ${scenarioDevices(scenario).length} devices for ${MINUTES} min, a sample every ${SAMPLE_SECONDS} s`);
  const gw = gridedge(['start', '--config', file], {}, (duration + 600) * 1000);
  const api = `http://127.0.0.1:${apiPort}`;
  const samples: SoakSample[] = [];
  let report: Report | undefined;
  try {
    await waitFor(
      'the gateway',
      async () =>
        (await fetch(`${api}/readyz`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${gw.stderr().slice(-2000)}${gw.stdout().slice(-2000)}`);
    });
    const t0 = Date.now();
    const sample = async () => {
      const text = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
      const messagesIn = [...text.matchAll(/^gridedge_messages_in_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      const s = { minute: (Date.now() - t0) / 60_000, rssMiB: rssMiB(gw.pid!), heapMiB: heap, messagesIn };
      samples.push(s);
      say(`  ${s.minute.toFixed(1)} min: RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB, ${s.messagesIn} messages in`);
    };
    const timer = setInterval(() => void sample().catch(() => undefined), SAMPLE_SECONDS * 1000);
    report = await runScenario(scenario, { target: `mqtt://127.0.0.1:${brokerPort}` });
    clearInterval(timer);
    await sample();
  } finally {
    gw.kill('SIGTERM');
    await gw.code;
  }
  const late = samples.filter((s) => s.minute >= MINUTES / 2);
  const rssSlope =
    late.length >= 3
      ? slope(
          late.map((s) => s.minute),
          late.map((s) => s.rssMiB),
        ) * 60
      : NaN;
  const heapSlope =
    late.length >= 3
      ? slope(
          late.map((s) => s.minute),
          late.map((s) => s.heapMiB),
        ) * 60
      : NaN;
  const result: SoakResult = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    minutes: MINUTES,
    devices: scenarioDevices(scenario).length,
    samples,
    secondHalfSlopeMiBPerHour: { rss: rssSlope, heap: heapSlope },
    sent: report?.sent ?? {},
  };
  return result;
}
