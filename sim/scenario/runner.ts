/**
 * Plays a scenario against any gateway over real MQTT: starts the fleet at a set connection rate,
 * sends each device's readings with seeded jitter (the same seed, the same run), plays the
 * timeline, watches the incidents the gateway publishes upstream, and compares them with the
 * expectations: seen or missed, latency, false alarms.
 */
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { parseDocument } from 'yaml';
import type { IncidentMessage } from '../../contracts/incident.js';
import { compile, configAjv, describeErrors } from '../../core/schema.js';
import { simKinds } from '../kinds.js';
import type { SimulatedMqttDevice } from '../mqtt-device.js';
import { SimulatedCamera } from '../camera/camera.js';
import type { FaultProxy } from '../faults/proxy.js';
import { ScenarioSchema, type FaultSpec, type Scenario } from './schema.js';

const validate = compile(configAjv, ScenarioSchema);

export async function loadScenario(file: string): Promise<Scenario> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.errors.length) throw new Error(`scenario ${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  const raw = doc.toJS() as unknown;
  if (!validate(raw))
    throw new Error(
      `scenario ${file}:\n${describeErrors(validate.errors)
        .map((e) => `  - ${e}`)
        .join('\n')}`,
    );
  const problems: string[] = [];
  const ids = new Set(scenarioDevices(raw).map((d) => d.id));
  raw.fleet.forEach((f, i) => {
    if (f.kind === CAMERA_KIND) problems.push(...cameraFleetProblems(f).map((p) => `fleet[${i}].options${p}`));
    else if (!simKinds[f.kind])
      problems.push(`fleet[${i}].kind: "${f.kind}" has no simulator (known: ${[...Object.keys(simKinds), CAMERA_KIND].join(', ')})`);
  });
  raw.timeline.forEach((e, i) => {
    if (!ids.has(e.device)) problems.push(`timeline[${i}].device: "${e.device}" is not in the fleet`);
    const kind = scenarioDevices(raw).find((d) => d.id === e.device)?.kind;
    const actions = kind === CAMERA_KIND ? CAMERA_ACTIONS : kind ? simKinds[kind]?.actions : undefined;
    if (actions && !actions[e.do])
      problems.push(`timeline[${i}].do: "${e.do}" is not an action of ${kind} (known: ${Object.keys(actions).join(', ')})`);
  });
  raw.faults.forEach((f, i) => {
    problems.push(...faultProblems(f, raw).map((p) => `faults[${i}]${p}`));
  });
  if (problems.length) throw new Error(`scenario ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return raw;
}

/**
 * ONVIF cameras in a fleet: simulated cameras with real SOAP services and RTSP streams, not MQTT
 * devices. Their ports are fixed by the scenario (`options.onvifPort`, `options.rtspPort`, one
 * more per camera), so the gateway's `cameras:` section can be printed before the run.
 */
export const CAMERA_KIND = 'onvif-camera';
const CAMERA_ACTIONS: Record<string, (cam: SimulatedCamera, args: Record<string, unknown>) => Promise<void>> = {
  show: async (cam, a) => cam.show(typeof a.scene === 'string' ? a.scene : 'street'),
  stall: async (cam, a) => {
    cam.stall();
    setTimeout(() => cam.resume(), (typeof a.seconds === 'number' ? a.seconds : 5) * 1000).unref();
  },
  kill: async (cam, a) => {
    await cam.killStream();
    setTimeout(() => void cam.restartStream().catch(() => undefined), (typeof a.seconds === 'number' ? a.seconds : 5) * 1000).unref();
  },
};

function cameraFleetProblems(f: Scenario['fleet'][number]): string[] {
  const o = f.options ?? {};
  const out: string[] = [];
  for (const k of ['onvifPort', 'rtspPort'])
    if (!(Number.isInteger(o[k]) && (o[k] as number) > 0 && (o[k] as number) + f.count <= 65535))
      out.push(`.${k}: give the first port (one per camera from there)`);
  if (o.scene !== undefined && typeof o.scene !== 'string') out.push('.scene: the name of the first scene');
  return out;
}

/** The gateway's `cameras:` entries for a scenario's ONVIF cameras. */
export function scenarioCameras(
  s: Scenario,
): Array<{ id: string; grid: string; onvif: string; user: string; password: string; detect?: unknown }> {
  return scenarioDevices(s)
    .filter((d) => d.kind === CAMERA_KIND)
    .map((d) => ({
      id: d.id,
      grid: d.grid,
      onvif: `http://127.0.0.1:${d.options.onvifPort as number}/onvif/device_service`,
      user: 'admin',
      password: d.secret,
      ...(d.options.detect ? { detect: d.options.detect } : {}),
    }));
}

/** What each fault type needs, said in the scenario's terms. */
function faultProblems(f: FaultSpec, s: Scenario): string[] {
  const out: string[] = [];
  const need = (field: keyof FaultSpec, why: string) => f[field] === undefined && out.push(`.${field}: ${f.type} needs ${why}`);
  if (['disconnect', 'garbage', 'upstream-down', 'series-down'].includes(f.type)) need('at', 'the second it starts');
  if (['disconnect', 'upstream-down', 'series-down'].includes(f.type)) {
    need('seconds', 'how long it lasts');
    if (f.seconds !== undefined && f.seconds <= 0) out.push(`.seconds: must be > 0 (got ${f.seconds})`);
  }
  if (f.type === 'skew') need('seconds', 'the clock error in seconds');
  if (f.type === 'garbage') {
    need('until', 'the second it stops');
    need('rate', 'payloads per second');
    if (f.until !== undefined && f.at !== undefined && f.until <= f.at) out.push(`.until: must be after at (${f.at})`);
  }
  if (f.type === 'duplicate' || f.type === 'reorder') need('probability', 'the chance per message, 0..1');
  if (f.type === 'slow') need('delayMs', 'the wait before each message');
  if (f.kind && !s.fleet.some((x) => x.kind === f.kind)) out.push(`.kind: no ${f.kind} in the fleet`);
  if (f.grid && !s.fleet.some((x) => x.grid === f.grid)) out.push(`.grid: no fleet in ${f.grid}`);
  return out;
}

export interface SimDevice {
  id: string;
  kind: string;
  grid: string;
  secret: string;
  options: Record<string, unknown>;
  telemetryEvery: number;
  batteryDrainPerHour: number;
  start?: { lat: number; lon: number };
}

export function scenarioDevices(s: Scenario): SimDevice[] {
  return s.fleet.flatMap((f) => {
    const width = String(f.count).length;
    return Array.from({ length: f.count }, (_, i) => {
      const options = { ...(f.options ?? {}) };
      // Each camera of a fleet listens one port further on.
      if (f.kind === CAMERA_KIND)
        for (const k of ['onvifPort', 'rtspPort']) if (typeof options[k] === 'number') options[k] = (options[k] as number) + i;
      return {
        id: `${f.idPrefix}${String(i + 1).padStart(width, '0')}`,
        kind: f.kind,
        grid: f.grid,
        secret: f.secret,
        options,
        telemetryEvery: f.telemetryEvery,
        batteryDrainPerHour: f.batteryDrainPerHour,
        ...(f.start ? { start: f.start } : {}),
      };
    });
  });
}

/** Small, fast, seedable (mulberry32): the same seed gives the same jitter. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ExpectationResult {
  category: string;
  grid?: string;
  device?: string;
  absent: boolean;
  ok: boolean;
  latencyMs?: number;
  incidentId?: string;
}

export interface Report {
  scenario: string;
  seed: number;
  ok: boolean;
  devices: number;
  sent: Record<string, number>;
  expectations: ExpectationResult[];
  missed: number;
  falseAlarms: Array<{ category: string; grid: string; devices: string[]; id: string }>;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  /** What each fault did. */
  faults: Array<{ type: string; at?: number; devices: number; detail: string }>;
  /** Seconds from the first connection to the last. */
  connectSeconds: number;
}

export interface RunOptions {
  target: string;
  upstream?: string;
  seed?: number;
  progress?: (line: string) => void;
  /** Proxies the scenario may cut (upstream-down, series-down): the gateway must be pointed through them. */
  upstreamProxy?: FaultProxy;
  seriesProxy?: FaultProxy;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runScenario(s: Scenario, opts: RunOptions): Promise<Report> {
  const say = opts.progress ?? (() => undefined);
  const seed = opts.seed ?? s.seed;
  const random = rng(seed);
  if (s.expect.length && !opts.upstream)
    throw new Error('the scenario has expectations: give --upstream, the broker the gateway publishes incidents to');
  for (const f of s.faults) {
    if (f.type === 'upstream-down' && !opts.upstreamProxy)
      throw new Error(
        "the scenario takes the upstream broker down: give --upstream-proxy LISTEN=TARGET and point the gateway's upstream.url at LISTEN",
      );
    if (f.type === 'series-down' && !opts.seriesProxy)
      throw new Error(
        "the scenario takes the series server down: give --series-proxy LISTEN=TARGET and point the gateway's influx.url at LISTEN",
      );
  }

  const seen: Array<{ m: IncidentMessage; at: number }> = [];
  const observer = opts.upstream
    ? await mqtt.connectAsync(opts.upstream, { clientId: `gridedge-sim-observer-${Math.floor(random() * 1e9)}`, reconnectPeriod: 500 })
    : undefined;
  if (observer) {
    observer.on('message', (_t, p) => {
      try {
        seen.push({ m: JSON.parse(p.toString()) as IncidentMessage, at: Date.now() });
      } catch {
        // not an incident message: not ours to judge
      }
    });
    await observer.subscribeAsync('gridedge/v1/+/+/incident', { qos: 1 });
  }

  const all = scenarioDevices(s);
  const specs = all.filter((d) => d.kind !== CAMERA_KIND);
  const cameras = new Map<string, SimulatedCamera>();
  for (const c of all.filter((d) => d.kind === CAMERA_KIND)) {
    const cam = new SimulatedCamera({
      id: c.id,
      password: c.secret,
      location: c.grid,
      onvifPort: c.options.onvifPort as number,
      rtspPort: c.options.rtspPort as number,
      fps: 5,
      ...(typeof c.options.scene === 'string' ? { initialScene: c.options.scene } : {}),
    });
    cameras.set(c.id, cam);
  }
  if (cameras.size) say(`${s.name}: starting ${cameras.size} simulated ONVIF camera(s)`);
  await Promise.all([...cameras.values()].map((c) => c.start()));
  const devices = new Map<string, { spec: SimDevice; sim: SimulatedMqttDevice }>();
  const sent: Record<string, number> = {};
  say(`${s.name}: starting ${specs.length} devices at ${s.connectRate}/s against ${opts.target} (seed ${seed})`);
  const started = Date.now();
  let nextReport = 0.1;
  let done = 0;
  const inFlight = new Set<Promise<void>>();
  const failures: string[] = [];
  // Connections start on the connectRate schedule without waiting for each other (a real fleet
  // does not queue politely), with at most 256 handshakes open at once.
  for (const [i, spec] of specs.entries()) {
    const due = started + (i / s.connectRate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight.size >= 256) await Promise.race(inFlight);
    const sim = simKinds[spec.kind]!.create(opts.target, spec.id, spec.secret, spec.options, spec.start);
    devices.set(spec.id, { spec, sim });
    const p = sim.connect().then(
      () => {
        done++;
        if (done / specs.length >= nextReport) {
          say(`  ${done}/${specs.length} connected`);
          nextReport += 0.1;
        }
      },
      (err: unknown) => void failures.push(`${spec.id}: ${(err as Error).message}`),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  if (failures.length) {
    for (const { sim } of devices.values()) await sim.disconnect().catch(() => undefined);
    await Promise.all([...cameras.values()].map((c) => c.stop()));
    await observer?.endAsync(true);
    throw new Error(`${failures.length} of ${specs.length} devices could not connect; first: ${failures[0]}`);
  }
  const connectSeconds = (Date.now() - started) / 1000;
  say(`  ${specs.length} connected in ${connectSeconds.toFixed(1)} s`);
  const faultLog: Report['faults'] = [];
  const faultTimers = applyFaults(s, devices, random, opts, faultLog, say);

  const t0 = Date.now();
  let running = true;
  const timers: NodeJS.Timeout[] = [];
  for (const { spec, sim } of devices.values()) {
    const kind = simKinds[spec.kind]!;
    let last = Date.now();
    const tick = () => {
      if (!running) return;
      // Batteries run down between readings (kinds whose simulator has a battery level).
      const battery = (sim as unknown as { battery?: unknown }).battery;
      if (spec.batteryDrainPerHour && typeof battery === 'number')
        (sim as unknown as { battery: number }).battery = Math.max(
          0,
          battery - (spec.batteryDrainPerHour * (Date.now() - last)) / 3_600_000,
        );
      last = Date.now();
      sent[spec.kind] = (sent[spec.kind] ?? 0) + 1;
      void kind.reading(sim).catch(() => undefined);
      timers.push(setTimeout(tick, spec.telemetryEvery * 1000 * (0.8 + 0.4 * random())));
    };
    timers.push(setTimeout(tick, spec.telemetryEvery * 1000 * random()));
  }
  const playing = s.timeline.map(async (e) => {
    await sleep(Math.max(0, t0 + e.at * 1000 - Date.now()));
    const cam = cameras.get(e.device);
    if (cam) {
      sent[CAMERA_KIND] = (sent[CAMERA_KIND] ?? 0) + 1;
      say(`  t=${e.at}s ${e.device} ${e.do}`);
      await CAMERA_ACTIONS[e.do]!(cam, e.args ?? {}).catch((err: unknown) =>
        say(`  t=${e.at}s ${e.device} ${e.do} failed: ${(err as Error).message}`),
      );
      return;
    }
    const d = devices.get(e.device)!;
    sent[d.spec.kind] = (sent[d.spec.kind] ?? 0) + 1;
    say(`  t=${e.at}s ${e.device} ${e.do}`);
    await simKinds[d.spec.kind]!.actions[e.do]!(d.sim, e.args ?? {}).catch((err: unknown) =>
      say(`  t=${e.at}s ${e.device} ${e.do} failed: ${(err as Error).message}`),
    );
  });
  const progress = setInterval(() => say(`  t=${Math.round((Date.now() - t0) / 1000)}s ${seen.length} incident messages seen`), 10_000);
  await sleep(s.duration * 1000);
  await Promise.all(playing);
  running = false;
  for (const t of [...timers, ...faultTimers]) clearTimeout(t);
  clearInterval(progress);
  // Room for the last incidents to arrive before judging.
  const lastDue = Math.max(0, ...s.expect.filter((x) => !x.absent).map((x) => t0 + (x.at + x.within) * 1000));
  if (lastDue > Date.now()) await sleep(lastDue - Date.now());
  await Promise.all([...devices.values()].map(({ sim }) => sim.disconnect().catch(() => undefined)));
  await Promise.all([...cameras.values()].map((c) => c.stop()));
  await observer?.endAsync(true);

  // Judge: each expectation takes the first new incident that fits it; what is left unclaimed is a false alarm.
  const news = seen.filter((x) => x.m.type === 'new');
  const claimed = new Set<string>();
  const fits = (x: (typeof news)[number], e: Scenario['expect'][number]) =>
    x.m.category === e.category && (!e.grid || x.m.grid === e.grid) && (!e.device || x.m.devices.some((d) => d.id === e.device));
  const expectations: ExpectationResult[] = s.expect.map((e) => {
    const from = t0 + e.at * 1000;
    const base = { category: e.category, absent: e.absent, ...(e.grid ? { grid: e.grid } : {}), ...(e.device ? { device: e.device } : {}) };
    if (e.absent) {
      const found = news.find((x) => fits(x, e));
      if (found) claimed.add(found.m.id);
      return { ...base, ok: !found, ...(found ? { incidentId: found.m.id } : {}) };
    }
    const found = news.find((x) => !claimed.has(x.m.id) && fits(x, e) && x.at >= from - 1000 && x.at <= from + e.within * 1000);
    if (!found) return { ...base, ok: false };
    claimed.add(found.m.id);
    return { ...base, ok: true, latencyMs: Math.max(0, found.at - from), incidentId: found.m.id };
  });
  const falseAlarms = news
    .filter((x) => !claimed.has(x.m.id))
    .map((x) => ({ category: x.m.category, grid: x.m.grid, devices: x.m.devices.map((d) => d.id), id: x.m.id }));
  const latencies = expectations.flatMap((e) => (e.latencyMs !== undefined ? [e.latencyMs] : [])).sort((a, b) => a - b);
  const missed = expectations.filter((e) => !e.absent && !e.ok).length;
  const ok = expectations.every((e) => e.ok) && (!s.failOnFalseAlarms || falseAlarms.length === 0);
  return {
    scenario: s.name,
    seed,
    ok,
    devices: all.length,
    sent,
    expectations,
    missed,
    falseAlarms,
    latencyMs: latencies.length ? { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) } : null,
    faults: faultLog,
    connectSeconds,
  };
}

type Fleet = Map<string, { spec: SimDevice; sim: SimulatedMqttDevice }>;

/** The devices a fault applies to: by kind and cell, then the seeded share of them. */
function select(f: FaultSpec, devices: Fleet, random: () => number): Array<{ spec: SimDevice; sim: SimulatedMqttDevice }> {
  const pool = [...devices.values()].filter((d) => (!f.kind || d.spec.kind === f.kind) && (!f.grid || d.spec.grid === f.grid));
  // Seeded Fisher–Yates: the same seed picks the same devices.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.round(pool.length * f.fraction));
}

/** Sets the standing misbehaviours now and schedules the timed faults from the start of the run. */
function applyFaults(
  s: Scenario,
  devices: Fleet,
  random: () => number,
  opts: RunOptions,
  log: Report['faults'],
  say: (line: string) => void,
): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const start = Date.now();
  const at = (seconds: number, fn: () => void) => timers.push(setTimeout(fn, Math.max(0, start + seconds * 1000 - Date.now())));
  for (const f of s.faults) {
    if (f.type === 'upstream-down' || f.type === 'series-down') {
      const proxy = f.type === 'upstream-down' ? opts.upstreamProxy : opts.seriesProxy;
      if (!proxy) continue; // checked before the fleet started
      at(f.at!, () => {
        say(`  t=${f.at}s ${f.type} for ${f.seconds} s`);
        proxy.outage(f.seconds!);
      });
      log.push({ type: f.type, at: f.at!, devices: 0, detail: `${f.seconds} s` });
      continue;
    }
    const chosen = select(f, devices, random);
    if (f.type === 'skew' || f.type === 'duplicate' || f.type === 'reorder' || f.type === 'slow') {
      for (const [i, d] of chosen.entries()) {
        const b = d.sim.behaviour;
        b.random ??= rng(s.seed * 7919 + i);
        if (f.type === 'skew') b.skewMs = f.seconds! * 1000;
        if (f.type === 'duplicate') b.duplicate = f.probability!;
        if (f.type === 'reorder') b.reorder = f.probability!;
        if (f.type === 'slow') b.delayMs = f.delayMs!;
      }
      const detail =
        f.type === 'skew'
          ? `clock ${f.seconds! > 0 ? '+' : ''}${f.seconds} s`
          : f.type === 'slow'
            ? `${f.delayMs} ms per message`
            : `p ${f.probability}`;
      log.push({ type: f.type, devices: chosen.length, detail });
      continue;
    }
    if (f.type === 'disconnect') {
      at(f.at!, () => {
        say(
          `  t=${f.at}s disconnect storm: ${chosen.length} devices drop, back after ${f.seconds} s${f.spread ? ` over ${f.spread} s` : ''}`,
        );
        for (const d of chosen) {
          d.sim.kill();
          const back = (f.seconds! + (f.spread ?? 0) * random()) * 1000;
          timers.push(setTimeout(() => void d.sim.connect().catch(() => undefined), back));
        }
      });
      log.push({
        type: 'disconnect',
        at: f.at!,
        devices: chosen.length,
        detail: `${f.seconds} s${f.spread ? `, back over ${f.spread} s` : ', back at once'}`,
      });
      continue;
    }
    // garbage: malformed payloads from the chosen devices at `rate` per second.
    let sentGarbage = 0;
    const entry = { type: 'garbage', at: f.at!, devices: chosen.length, detail: '' };
    log.push(entry);
    at(f.at!, () => {
      say(`  t=${f.at}s garbage at ${f.rate}/s until t=${f.until}s`);
      const stopAt = start + f.until! * 1000;
      const tick = () => {
        if (Date.now() >= stopAt || !chosen.length) return;
        const d = chosen[Math.floor(random() * chosen.length)]!;
        sentGarbage++;
        entry.detail = `${sentGarbage} malformed payloads at ${f.rate}/s`;
        void simKinds[d.spec.kind]!.actions.garbage!(d.sim, { count: 1, offset: sentGarbage }).catch(() => undefined);
        timers.push(setTimeout(tick, 1000 / f.rate!));
      };
      tick();
    });
  }
  return timers;
}

export function formatReport(r: Report): string {
  const lines = [`scenario: ${r.scenario} (seed ${r.seed}, ${r.devices} devices, connected in ${r.connectSeconds.toFixed(1)} s)`];
  lines.push(
    `sent: ${
      Object.entries(r.sent)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'nothing'
    }`,
  );
  for (const e of r.expectations) {
    const what = `${e.absent ? 'no ' : ''}${e.category}${e.grid ? ` in ${e.grid}` : ''}${e.device ? ` from ${e.device}` : ''}`;
    lines.push(
      `  ${e.ok ? 'ok    ' : 'FAILED'}  ${what}${e.latencyMs !== undefined ? `  (${e.latencyMs} ms)` : e.absent ? (e.ok ? '' : `  (seen: ${e.incidentId})`) : '  (missed)'}`,
    );
  }
  for (const f of r.faults)
    lines.push(`fault: ${f.type}${f.at !== undefined ? ` at ${f.at} s` : ''}${f.devices ? `, ${f.devices} devices` : ''}: ${f.detail}`);
  if (r.latencyMs) lines.push(`latency: p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms`);
  lines.push(
    `missed: ${r.missed}, false alarms: ${r.falseAlarms.length}${r.falseAlarms.length ? ` (${r.falseAlarms.map((f) => `${f.category} ${f.devices.join('+')}`).join(', ')})` : ''}`,
  );
  lines.push(r.ok ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
