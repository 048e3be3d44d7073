/** `gridedge cameras …` and `gridedge sim camera`: find and check cameras; run a simulated one. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { discover, parseTarget } from '../../devices/camera/discover.js';
import { OnvifCamera } from '../../devices/camera/onvif.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import type { SceneSpec, TimelineStep } from '../../sim/camera/scenes.js';
import { UsageError } from './devices.js';

export async function discoverCommand(
  opts: { target: string[]; timeout: number; json: boolean },
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  for (const t of opts.target) {
    try {
      parseTarget(t);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const where = opts.target.length ? opts.target.join(', ') : 'the local network (multicast 239.255.255.250:3702)';
  if (!opts.json) err(`probing ${where} for ${opts.timeout / 1000} s…`);
  const found = await discover({
    targets: opts.target,
    timeoutMs: opts.timeout,
    onProgress: (p) => {
      if (opts.json) return;
      if (p.latest) err(`  found ${p.latest.name ?? p.latest.urn} at ${p.latest.xaddrs.join(' ')}`);
      else err(`  ${Math.round(p.elapsedMs / 1000)} s, ${p.found} found`);
    },
  });
  if (opts.json) out(JSON.stringify(found, null, 2));
  else if (!found.length) out('no ONVIF camera answered');
  else {
    out(`${found.length} camera${found.length === 1 ? '' : 's'}:`);
    for (const f of found) out(`  ${f.name ?? '(no name)'}  ${f.xaddrs[0]}  hardware=${f.hardware ?? '?'}  location=${f.location ?? '?'}`);
  }
  return found.length ? 0 : 1;
}

export async function probeCommand(
  opts: { xaddr: string; user: string; password?: string; json: boolean },
  out: (s: string) => void,
): Promise<void> {
  const password = opts.password ?? process.env.GRIDEDGE_CAMERA_PASSWORD ?? '';
  const cam = await OnvifCamera.connect({ xaddr: opts.xaddr, user: opts.user, password });
  if (opts.json) {
    out(JSON.stringify({ info: cam.info, profiles: cam.profiles, events: Boolean(cam.eventsXaddr) }, null, 2));
    return;
  }
  out(`${cam.info.manufacturer} ${cam.info.model} (firmware ${cam.info.firmware}, serial ${cam.info.serial})`);
  out(`events: ${cam.eventsXaddr ? 'PullPoint' : 'none'}`);
  for (const p of cam.profiles) {
    out(`profile ${p.token} "${p.name}": ${p.encoding ?? '?'} ${p.width ?? '?'}x${p.height ?? '?'} @ ${p.fps ?? '?'} fps`);
    if (p.streamUri) out(`  stream   ${p.streamUri}`);
    if (p.snapshotUri) out(`  snapshot ${p.snapshotUri}`);
  }
}

export interface SimCameraCliOptions {
  id: string;
  host: string;
  onvifPort: number;
  rtspPort: number;
  discoveryPort?: number;
  user: string;
  password: string;
  fps: number;
  width: number;
  height: number;
  codec: string;
  scene: string;
  script?: string;
  grid?: string;
}

/** Runs one simulated camera until SIGINT/SIGTERM; prints where each service listens. */
export async function simCameraCommand(opts: SimCameraCliOptions, out: (s: string) => void): Promise<void> {
  if (opts.codec !== 'h264' && opts.codec !== 'mjpeg') throw new UsageError(`--codec must be h264 or mjpeg, not "${opts.codec}"`);
  let scenes: Record<string, SceneSpec> | undefined;
  let timeline: TimelineStep[] | undefined;
  if (opts.script) {
    const doc = parseYaml(await readFile(opts.script, 'utf8')) as { scenes?: Record<string, SceneSpec>; timeline?: TimelineStep[] } | null;
    scenes = doc?.scenes;
    timeline = doc?.timeline;
    if (timeline && (!Array.isArray(timeline) || timeline.some((s) => typeof s?.scene !== 'string' || !(Number(s.seconds) > 0)))) {
      throw new UsageError(`${opts.script}: timeline must be a list of {scene, seconds > 0}`);
    }
  }
  const cam = new SimulatedCamera({
    id: opts.id,
    host: opts.host,
    onvifPort: opts.onvifPort,
    rtspPort: opts.rtspPort,
    ...(opts.discoveryPort !== undefined ? { discoveryPort: opts.discoveryPort } : {}),
    user: opts.user,
    password: opts.password,
    fps: opts.fps,
    width: opts.width,
    height: opts.height,
    codec: opts.codec,
    initialScene: opts.scene,
    ...(scenes ? { scenes } : {}),
    ...(timeline ? { timeline } : {}),
    ...(opts.grid ? { location: opts.grid } : {}),
  });
  await cam.start();
  out(`simulated camera ${opts.id} (user ${opts.user})`);
  out(`  ONVIF     ${cam.xaddr}`);
  out(`  RTSP      ${cam.rtspUrl}`);
  out(`  snapshot  ${cam.snapshotUrl}`);
  if (cam.discoveryPort !== undefined) out(`  discovery udp://${opts.host}:${cam.discoveryPort}`);
  out(`  scene     ${cam.scene}${timeline ? ` (timeline of ${timeline.length} steps, looping)` : ''}`);
  out('Ctrl-C stops it.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await cam.stop();
}
