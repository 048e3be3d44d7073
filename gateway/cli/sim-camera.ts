/** `gridedge sim camera`: one simulated ONVIF camera (SOAP, WS-Discovery, Digest snapshot, a real RTSP stream) until Ctrl-C. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import type { SceneSpec, TimelineStep } from '../../sim/camera/scenes.js';
import { UsageError } from './args.js';
import type { SimCameraCliOptions } from './sim-command.js';

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
