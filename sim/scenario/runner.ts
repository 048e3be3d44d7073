/**
 * Plays a scenario against any gateway over real MQTT: starts the fleet at a set connection rate,
 * sends each device's readings with seeded jitter (the same seed, the same run), plays the
 * timeline, watches the incidents the gateway publishes upstream, and compares them with the
 * expectations: seen or missed, latency, false alarms.
 */
import mqtt from 'mqtt';
import type { IncidentMessage } from '../../contracts/incident.js';
import { simKinds } from '../kinds.js';
import type { SimulatedMqttDevice } from '../mqtt-device.js';
import { SimulatedCamera } from '../camera/camera.js';
import { GB_ACTIONS, GB_KIND, gbFleetOptions, ScenarioNvr } from '../gb28181/scenario.js';
import type { FaultProxy } from '../faults/proxy.js';
import { SOURCE_FLEET_KINDS, type SourcedSim } from '../sources/scenario.js';
import { ANALYTICS_CAMERA_KINDS } from '../camera/analytics-fleet.js';
import { applyFaults } from './faults.js';
import { CAMERA_ACTIONS, CAMERA_KIND, rng, type SimDevice, scenarioDevices } from './load.js';
import type { ExpectationResult, Report } from './report.js';
import type { Scenario } from './schema.js';

export { GB_KIND } from '../gb28181/scenario.js';
export {
  CAMERA_KIND,
  loadScenario,
  rng,
  scenarioCameras,
  scenarioDevices,
  scenarioGb28181,
  scenarioSources,
  type SimDevice,
} from './load.js';
export { SOURCE_FLEET_KINDS } from '../sources/scenario.js';
export { formatReport, type Report } from './report.js';

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
  const specs = all.filter(
    (d) => d.kind !== CAMERA_KIND && d.kind !== GB_KIND && !SOURCE_FLEET_KINDS[d.kind] && !ANALYTICS_CAMERA_KINDS[d.kind],
  );
  const smart = new Map(
    all
      .filter((d) => ANALYTICS_CAMERA_KINDS[d.kind])
      .map((d) => [d.id, { spec: d, sim: ANALYTICS_CAMERA_KINDS[d.kind]!.create(d) }] as const),
  );
  const sourced = new Map(
    all
      .filter((d) => SOURCE_FLEET_KINDS[d.kind])
      .map((d) => [d.id, { spec: d, sim: SOURCE_FLEET_KINDS[d.kind]!.create(d) as SourcedSim }] as const),
  );
  const targetHost = new URL(opts.target).hostname || '127.0.0.1';
  const nvrs = new Map(
    all
      .filter((d) => d.kind === GB_KIND)
      .map((d) => [d.id, new ScenarioNvr(d.id, d.grid, d.secret, targetHost, gbFleetOptions(d.options))]),
  );
  const cameras = new Map<string, SimulatedCamera>();
  const devices = new Map<string, { spec: SimDevice; sim: SimulatedMqttDevice }>();
  /** Everything the run started, stopped (what never started stops as a no-op). */
  const shutdown = async () => {
    await Promise.all([...devices.values()].map(({ sim }) => sim.disconnect().catch(() => undefined)));
    await Promise.all([...cameras.values()].map((c) => c.stop()));
    await Promise.all([...smart.values()].map((c) => c.sim.stop().catch(() => undefined)));
    await Promise.all([...nvrs.values()].map((n) => n.stop().catch(() => undefined)));
    await Promise.all([...sourced.values()].map((d) => d.sim.stop().catch(() => undefined)));
    await observer?.endAsync(true);
  };
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
  if (smart.size) say(`${s.name}: starting ${smart.size} simulated smart camera(s) (ISAPI, Dahua)`);
  try {
    await Promise.all([...smart.values()].map((c) => c.sim.start()));
  } catch (err) {
    await shutdown();
    throw new Error(`a simulated smart camera could not start: ${(err as Error).message} (is its options.port free?)`);
  }
  if (nvrs.size) say(`${s.name}: registering ${nvrs.size} simulated GB/T 28181 NVR(s) to ${targetHost}`);
  try {
    await Promise.all([...nvrs.values()].map((n) => n.start()));
  } catch (err) {
    await shutdown();
    throw new Error(`a GB/T 28181 NVR could not register: ${(err as Error).message} (is gb28181 configured, and is sipPort its port?)`);
  }
  if (sourced.size) say(`${s.name}: starting ${sourced.size} device(s) behind simulated platforms (CTWing, ChirpStack)`);
  try {
    await Promise.all([...sourced.values()].map((d) => d.sim.start()));
  } catch (err) {
    await shutdown();
    throw new Error(
      `a device behind a simulated platform could not start: ${(err as Error).message} (is the gateway's API at options.api, ` +
        "or the site's ChirpStack broker at options.broker?)",
    );
  }
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
    await shutdown();
    throw new Error(`${failures.length} of ${specs.length} devices could not connect; first: ${failures[0]}`);
  }
  const connectSeconds = (Date.now() - started) / 1000;
  say(`  ${specs.length} connected in ${connectSeconds.toFixed(1)} s`);
  const faultLog: Report['faults'] = [];
  const faultTimers = applyFaults(s, devices, random, opts, faultLog, say);

  const t0 = Date.now();
  let running = true;
  const timers: NodeJS.Timeout[] = [];
  /** A device's routine readings, jittered, its battery (when it has one) running down between them. */
  const schedule = (spec: SimDevice, holder: { battery?: unknown }, reading: () => Promise<void>) => {
    let last = Date.now();
    const tick = () => {
      if (!running) return;
      if (spec.batteryDrainPerHour && typeof holder.battery === 'number')
        holder.battery = Math.max(0, holder.battery - (spec.batteryDrainPerHour * (Date.now() - last)) / 3_600_000);
      last = Date.now();
      sent[spec.kind] = (sent[spec.kind] ?? 0) + 1;
      void reading().catch(() => undefined);
      timers.push(setTimeout(tick, spec.telemetryEvery * 1000 * (0.8 + 0.4 * random())));
    };
    timers.push(setTimeout(tick, spec.telemetryEvery * 1000 * random()));
  };
  for (const { spec, sim } of devices.values())
    schedule(spec, sim as unknown as { battery?: unknown }, () => simKinds[spec.kind]!.reading(sim));
  // Devices behind a platform report through it on the same schedule.
  for (const { spec, sim } of sourced.values()) schedule(spec, sim, () => sim.reading());
  const playing = s.timeline.map(async (e) => {
    await sleep(Math.max(0, t0 + e.at * 1000 - Date.now()));
    // Counted under the device's kind, said, run; a failing action is said, not fatal.
    const play = async (kind: string, action: () => Promise<void>) => {
      sent[kind] = (sent[kind] ?? 0) + 1;
      say(`  t=${e.at}s ${e.device} ${e.do}`);
      await action().catch((err: unknown) => say(`  t=${e.at}s ${e.device} ${e.do} failed: ${(err as Error).message}`));
    };
    const args = e.args ?? {};
    const nvr = nvrs.get(e.device);
    if (nvr) return play(GB_KIND, () => GB_ACTIONS[e.do]!(nvr, args));
    const behind = sourced.get(e.device);
    if (behind) return play(behind.spec.kind, () => SOURCE_FLEET_KINDS[behind.spec.kind]!.actions[e.do]!(behind.sim, args));
    const cam = cameras.get(e.device);
    if (cam) return play(CAMERA_KIND, () => CAMERA_ACTIONS[e.do]!(cam, args));
    const sc = smart.get(e.device);
    if (sc) return play(sc.spec.kind, () => ANALYTICS_CAMERA_KINDS[sc.spec.kind]!.actions[e.do]!(sc.sim, args));
    const d = devices.get(e.device)!;
    return play(d.spec.kind, () => simKinds[d.spec.kind]!.actions[e.do]!(d.sim, args));
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
  await shutdown();

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
