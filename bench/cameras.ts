/**
 * Camera benchmark: N simulated ONVIF cameras (real GStreamer RTSP, H.264) read by the gateway's
 * camera stage (ONVIF connect, ffmpeg decode to RGB at the detector size and rate, hand-off queue).
 * Reports frames delivered per second, CPU per camera (the ffmpeg decoder, from /proc) and the
 * decode cost per frame, plus the gateway process's own CPU per frame (the hand-off).
 * The simulated cameras' encoders run on the same two cores: they are measured apart, not hidden.
 * Run: npm run bench:cameras [-- --cameras 4 --fps 2 --width 640 --height 360
 *        --stream-width 1280 --stream-height 720 --stream-fps 15 --seconds 20]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { CameraManager } from '../devices/camera/manager.js';
import { arg } from './args.js';
import { sampleCameras, simulatedCameras } from './sim-cameras.js';

const CAMERAS = arg('cameras', 4);
const FPS = arg('fps', 2);
const WIDTH = arg('width', 640);
const HEIGHT = arg('height', 360);
const STREAM_WIDTH = arg('stream-width', 1280);
const STREAM_HEIGHT = arg('stream-height', 720);
const STREAM_FPS = arg('stream-fps', 15);
const SECONDS = arg('seconds', 20);

async function main(): Promise<void> {
  const log = { info: () => undefined, warn: (o: object, m: string) => process.stderr.write(`warn: ${m} ${JSON.stringify(o)}\n`) };
  process.stderr.write(`starting ${CAMERAS} simulated cameras (${STREAM_WIDTH}x${STREAM_HEIGHT} H.264 @ ${STREAM_FPS} fps)…\n`);
  const sims = await simulatedCameras(CAMERAS, 'bench-cam-', { width: STREAM_WIDTH, height: STREAM_HEIGHT, fps: STREAM_FPS });
  const manager = new CameraManager(
    sims.map((s) => ({
      id: s.id,
      grid: '110105001002001',
      onvif: s.xaddr,
      user: 'admin',
      password: 'bench-pass',
      source: 'auto' as const,
      fps: FPS,
      width: WIDTH,
      height: HEIGHT,
      stallSeconds: 10,
      motionGate: false,
      queueFrames: 2,
    })),
    { ffmpegPath: 'ffmpeg', log },
  );
  try {
    const w = await sampleCameras(manager, { count: CAMERAS, seconds: SECONDS, label: 'cameras', waitMs: 60_000 });
    const { elapsed } = w;
    const perCamera = w.cameras.map((c) => ({
      camera: c.camera,
      framesPerSecond: c.frames / elapsed,
      cpuPercentOfCore: (c.decoderCpu / elapsed) * 100,
      decodeMsPerFrame: c.frames ? (c.decoderCpu * 1000) / c.frames : NaN,
      dropped: c.dropped,
      restarts: c.restarts,
    }));
    const totalFrames = perCamera.reduce((a, c) => a + c.framesPerSecond * elapsed, 0);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      setup: {
        cameras: CAMERAS,
        detectorFrame: `${WIDTH}x${HEIGHT}`,
        fps: FPS,
        stream: `${STREAM_WIDTH}x${STREAM_HEIGHT} H.264 @ ${STREAM_FPS}`,
        seconds: elapsed,
      },
      framesPerSecondTotal: totalFrames / elapsed,
      framesPerSecondPerCamera: perCamera.reduce((a, c) => a + c.framesPerSecond, 0) / CAMERAS,
      decoderCpuPercentPerCamera: perCamera.reduce((a, c) => a + c.cpuPercentOfCore, 0) / CAMERAS,
      decodeMsPerDeliveredFrame: perCamera.reduce((a, c) => a + c.decodeMsPerFrame, 0) / CAMERAS,
      gatewayCpuMsPerFrame: w.ownCpuMs / Math.max(1, totalFrames),
      decodersRestartedDuringRun: w.decodersRestarted,
      perCamera,
    };
    const f = (n: number, d = 1) => n.toFixed(d);
    process.stdout.write(
      `${[
        `cameras: ${CAMERAS} × ${result.setup.stream} → ${WIDTH}x${HEIGHT} RGB @ ${FPS} fps, ${f(elapsed)} s on ` +
          `${result.machine.cpus} cores`,
        `frames delivered: ${f(result.framesPerSecondTotal, 2)}/s in all, ${f(result.framesPerSecondPerCamera, 2)}/s per camera ` +
          `(asked ${FPS})`,
        `decoder CPU per camera: ${f(result.decoderCpuPercentPerCamera)} % of one core`,
        `decode cost per delivered frame: ${f(result.decodeMsPerDeliveredFrame)} ms of CPU (every source frame must be decoded: ` +
          `${STREAM_FPS}/${FPS} decoded per delivered)`,
        `this process's CPU per frame (the camera stage's hand-off and ONVIF events, plus the simulated cameras' SOAP side): ` +
          `${f(result.gatewayCpuMsPerFrame, 2)} ms`,
        ...(result.decodersRestartedDuringRun ? ['WARNING: a decoder restarted during the run; its CPU is under-counted'] : []),
      ].join('\n')}\n`,
    );
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    const file = new URL(`./results/cameras-${result.date.slice(0, 10)}-${CAMERAS}cams.json`, import.meta.url);
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`written ${file.pathname}\n`);
  } finally {
    await manager.stop();
    await Promise.all(sims.map((s) => s.stop()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:cameras failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
