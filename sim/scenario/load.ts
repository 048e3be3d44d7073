/**
 * A scenario file read and checked: the fleet (each kind must have a simulator), its timeline,
 * faults and expectations, every problem reported at once; and the devices and cameras it
 * describes, for the gateway's config and for the runner.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { compile, configAjv, describeErrors } from '../../core/schema.js';
import type { SimulatedCamera } from '../camera/camera.js';
import { GB_ACTIONS, GB_KIND, gbDeviceId, gbFleetProblems, gbGatewaySection } from '../gb28181/scenario.js';
import { simKinds } from '../kinds.js';
import { SOURCE_FLEET_KINDS, sourcedGatewayConfig } from '../sources/scenario.js';
import { ANALYTICS_CAMERA_KINDS } from '../camera/analytics-fleet.js';
import { type FaultSpec, type Scenario, ScenarioSchema } from './schema.js';

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
  const known = [
    ...Object.keys(simKinds),
    CAMERA_KIND,
    GB_KIND,
    ...Object.keys(SOURCE_FLEET_KINDS),
    ...Object.keys(ANALYTICS_CAMERA_KINDS),
  ].join(', ');
  raw.fleet.forEach((f, i) => {
    if (f.kind === CAMERA_KIND) problems.push(...cameraFleetProblems(f).map((p) => `fleet[${i}].options${p}`));
    else if (f.kind === GB_KIND) problems.push(...gbFleetProblems(f).map((p) => `fleet[${i}].${p}`));
    else if (SOURCE_FLEET_KINDS[f.kind]) problems.push(...SOURCE_FLEET_KINDS[f.kind]!.problems(f).map((p) => `fleet[${i}].${p}`));
    else if (ANALYTICS_CAMERA_KINDS[f.kind])
      problems.push(...ANALYTICS_CAMERA_KINDS[f.kind]!.problems(f.options ?? {}, f.count).map((p) => `fleet[${i}].${p}`));
    else if (!simKinds[f.kind]) problems.push(`fleet[${i}].kind: "${f.kind}" has no simulator (known: ${known})`);
  });
  raw.timeline.forEach((e, i) => {
    if (!ids.has(e.device)) problems.push(`timeline[${i}].device: "${e.device}" is not in the fleet`);
    const kind = scenarioDevices(raw).find((d) => d.id === e.device)?.kind;
    const actions =
      kind === CAMERA_KIND
        ? CAMERA_ACTIONS
        : kind === GB_KIND
          ? GB_ACTIONS
          : kind
            ? (SOURCE_FLEET_KINDS[kind]?.actions ?? ANALYTICS_CAMERA_KINDS[kind]?.actions ?? simKinds[kind]?.actions)
            : undefined;
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
export const CAMERA_ACTIONS: Record<string, (cam: SimulatedCamera, args: Record<string, unknown>) => Promise<void>> = {
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

/** The gateway's `cameras:` entries for a scenario's ONVIF cameras and smart cameras (ISAPI, Dahua). */
export function scenarioCameras(s: Scenario): Array<Record<string, unknown> & { id: string; grid: string }> {
  const devices = scenarioDevices(s);
  const onvif = devices
    .filter((d) => d.kind === CAMERA_KIND)
    .map((d) => ({
      id: d.id,
      grid: d.grid,
      onvif: `http://127.0.0.1:${d.options.onvifPort as number}/onvif/device_service`,
      user: 'admin',
      password: d.secret,
      ...(d.options.detect ? { detect: d.options.detect } : {}),
    }));
  const smart = devices
    .filter((d) => ANALYTICS_CAMERA_KINDS[d.kind])
    .map((d) => ANALYTICS_CAMERA_KINDS[d.kind]!.cameraEntry(d) as { id: string; grid: string });
  return [...onvif, ...smart];
}

/** The gateway's `gb28181:` section for a scenario's NVRs; undefined when it has none. */
export function scenarioGb28181(s: Scenario) {
  const nvrs = scenarioDevices(s).filter((d) => d.kind === GB_KIND);
  return nvrs.length ? gbGatewaySection(nvrs) : undefined;
}

/**
 * The gateway's `devices:` entries (with their `source:`) and `sources:` section for a scenario's
 * devices that come through a source (CTWing, ChirpStack); empty when it has none.
 */
export function scenarioSources(s: Scenario) {
  return sourcedGatewayConfig(scenarioDevices(s));
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
      if (ANALYTICS_CAMERA_KINDS[f.kind] && typeof options.port === 'number') options.port = (options.port as number) + i;
      return {
        id: f.kind === GB_KIND ? gbDeviceId(f.idPrefix, i + 1) : `${f.idPrefix}${String(i + 1).padStart(width, '0')}`,
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
