/** What the camera benchmarks share: a process's CPU from /proc, and a row of simulated RTSP cameras. */
import { readFileSync } from 'node:fs';
import { SimulatedCamera } from '../sim/camera/camera.js';

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
