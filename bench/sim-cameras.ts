/** What the camera benchmarks share: a process's CPU from /proc, a row of simulated RTSP cameras, the measuring window. */
import { readFileSync } from 'node:fs';
import type { CameraManager } from '../devices/camera/manager.js';
import { SimulatedCamera } from '../sim/camera/camera.js';
import { waitFor } from '../test/helpers/servers.js';

const TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds (0 once it is gone). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** N simulated cameras (real GStreamer RTSP, H.264), alternating people and vehicles, started. */
export async function simulatedCameras(
  count: number,
  prefix: string,
  stream: { width: number; height: number; fps: number },
): Promise<SimulatedCamera[]> {
  const sims = Array.from(
    { length: count },
    (_, i) =>
      new SimulatedCamera({
        id: `${prefix}${i + 1}`,
        password: 'bench-pass',
        width: stream.width,
        height: stream.height,
        fps: stream.fps,
        initialScene: i % 2 ? 'people' : 'vehicles',
      }),
  );
  await Promise.all(sims.map((s) => s.start()));
  return sims;
}

export interface CameraSample {
  camera: string;
  /** Frames delivered in the window. */
  frames: number;
  /** CPU of its ffmpeg decoder in the window, s. */
  decoderCpu: number;
  dropped: number;
  restarts: number;
}

export interface CameraWindow {
  cameras: CameraSample[];
  elapsed: number;
  /** This process's CPU in the window, ms. */
  ownCpuMs: number;
  /** A decoder was replaced in the window: its CPU is under-counted. */
  decodersRestarted: boolean;
}

/**
 * Starts the manager, waits for frames from all `count` cameras and 3 s more (past the decoders'
 * start-up), then counts frames, decoder CPU and this process's CPU for `seconds`.
 */
export async function sampleCameras(
  manager: CameraManager,
  opts: { count: number; seconds: number; label: string; waitMs: number },
): Promise<CameraWindow> {
  const delivered = new Map<string, number>();
  manager.addConsumer((f) => void delivered.set(f.camera, (delivered.get(f.camera) ?? 0) + 1));
  manager.start();
  process.stderr.write(`${opts.label}: waiting for frames from every camera…\n`);
  await waitFor(`${opts.label}: frames from every camera`, () => delivered.size === opts.count || undefined, opts.waitMs);
  await new Promise((r) => setTimeout(r, 3000));
  const runtimes = [...manager.cameras.values()];
  const pids = runtimes.map((r) => r.decoderPid);
  const cpu0 = pids.map(cpuSeconds);
  const frames0 = runtimes.map((r) => delivered.get(r.id) ?? 0);
  const own0 = process.cpuUsage();
  const t0 = Date.now();
  for (let s = 1; s <= opts.seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (s % 5 === 0) process.stderr.write(`  ${opts.label}: ${s}/${opts.seconds} s\n`);
  }
  const elapsed = (Date.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  return {
    cameras: runtimes.map((r, i) => ({
      camera: r.id,
      frames: (delivered.get(r.id) ?? 0) - frames0[i]!,
      decoderCpu: cpuSeconds(pids[i]) - cpu0[i]!,
      dropped: r.framesDropped,
      restarts: r.health().stream?.restarts ?? 0,
    })),
    elapsed,
    ownCpuMs: (own.user + own.system) / 1000,
    decodersRestarted: !runtimes.every((r, i) => r.decoderPid === pids[i]),
  };
}
