/**
 * Detector benchmark, in two parts.
 * 1. Per detector, on camera-sized frames (640×360) of the scene it is for: the bare model time
 *    (inside onnxruntime) against the whole per-frame cost (preprocess + inference +
 *    postprocess, one thread), and the camera stage's decode cost per delivered frame (ffmpeg,
 *    measured from /proc on a simulated camera's RTSP stream). Goal: whole ≤ 1.25 × bare.
 * 2. Streams: N simulated cameras at 2 fps through the real camera stage into the detector
 *    worker pool with face + plate detection; reports frames detected per second per camera and
 *    the frames dropped. Goal: 8 streams on two cores. The simulated cameras' encoders share the
 *    same cores, so this is a lower bound; the capacity computed from part 1 is printed beside it.
 * 3. The stages after the model, per frame: the tracker (Kalman prediction, association, best
 *    shot) and the behaviours (two lines, a loitering and a no-parking zone) on a busy scene of
 *    moving people and cars, against the object detector's bare inference. Goal: bare + stages
 *    ≤ 1.25 × bare.
 * Run: npm run bench:detectors [-- --frames 30 --cameras 8 --seconds 30 --workers 2]
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { FaceDetector } from '../detectors/face/blazeface.js';
import { FireDetector } from '../detectors/fire/fire.js';
import { decodeImage } from '../detectors/image.js';
import { inferenceClock } from '../detectors/models.js';
import { ObjectDetector } from '../detectors/object/centernet.js';
import { Behaviours } from '../detectors/pipeline/behaviours.js';
import { DetectorPool } from '../detectors/pipeline/pool.js';
import { Tracker } from '../detectors/pipeline/tracker.js';
import { PlateDetector } from '../detectors/plate/plate.js';
import type { Detection, Detector, RgbImage } from '../detectors/types.js';
import { CameraManager } from '../devices/camera/manager.js';
import { SimulatedCamera } from '../sim/camera/camera.js';
import { BUILTIN_SCENES, renderScenes } from '../sim/camera/scenes.js';
import { waitFor } from '../test/helpers/servers.js';
import { arg } from './args.js';

const FRAMES = arg('frames', 30);
const CAMERAS = arg('cameras', 8);
const SECONDS = arg('seconds', 30);
const WORKERS = arg('workers', 2);
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 2;

function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

interface PerDetector {
  detector: string;
  scene: string;
  bareMs: number;
  wholeMs: number;
  ratio: number;
  runsPerFrame: number;
}

async function perDetector(): Promise<PerDetector[]> {
  const scenes = await renderScenes(BUILTIN_SCENES, WIDTH, HEIGHT);
  const frames = async (name: string): Promise<RgbImage[]> => Promise.all(scenes.get(name)!.jpegs.map((j) => decodeImage(j)));
  const cases: Array<{ name: string; scene: string; make: () => Detector }> = [
    { name: 'face', scene: 'crowd', make: () => new FaceDetector() },
    { name: 'plate', scene: 'plate', make: () => new PlateDetector() },
    { name: 'object', scene: 'people', make: () => new ObjectDetector() },
    { name: 'fire', scene: 'fire', make: () => new FireDetector() },
  ];
  const out: PerDetector[] = [];
  for (const c of cases) {
    const images = await frames(c.scene);
    const d = c.make();
    for (let i = 0; i < 3; i++) await d.detect(images[i % images.length]!); // sessions created, caches warm
    const bare: number[] = [];
    const whole: number[] = [];
    const runs0 = inferenceClock.runs;
    for (let i = 0; i < FRAMES; i++) {
      const before = inferenceClock.ms;
      const t0 = performance.now();
      await d.detect(images[i % images.length]!);
      whole.push(performance.now() - t0);
      bare.push(inferenceClock.ms - before);
    }
    const b = mean(bare);
    const w = mean(whole);
    out.push({
      detector: c.name,
      scene: c.scene,
      bareMs: b,
      wholeMs: w,
      ratio: b > 0 ? w / b : NaN,
      runsPerFrame: (inferenceClock.runs - runs0) / FRAMES,
    });
    process.stderr.write(`  ${c.name}: ${f(w)} ms whole, ${f(b)} ms bare\n`);
  }
  return out;
}

/**
 * The tracker and the behaviours on `objects` people and cars walking and driving across a real
 * scene picture (the best shot crops and scores it), 2 fps, for `frames` frames.
 */
async function stages(objects: number, frames: number): Promise<{ trackerMs: number; behavioursMs: number }> {
  const scenes = await renderScenes({ people: BUILTIN_SCENES.people! }, WIDTH, HEIGHT);
  const image = await decodeImage(scenes.get('people')!.jpegs[0]!);
  const tracker = new Tracker('bench', { maxMissed: 3, highScore: { person: 0.4, car: 0.4 } });
  const square = (x0: number, y0: number, x1: number, y1: number): Array<[number, number]> => [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
  const behaviours = new Behaviours(
    [
      { name: 'gate', from: [0.2, 0.6], to: [0.8, 0.6], inside: [0.5, 0.9] },
      { name: 'wall', from: [0.5, 0], to: [0.5, 1], inside: [0.9, 0.5], alarm: 'in' },
    ],
    [
      { name: 'lobby', mode: 'loitering', seconds: 30, polygon: square(0.1, 0.1, 0.5, 0.9) },
      { name: 'lane', mode: 'no_parking', seconds: 60, polygon: square(0.5, 0.5, 1, 1) },
    ],
  );
  const tracker_: number[] = [];
  const behaviours_: number[] = [];
  for (let i = 0; i < frames; i++) {
    const at = i * 500;
    const dets: Detection[] = [];
    for (let k = 0; k < objects; k++) {
      const car = k % 3 === 0;
      const w = car ? 110 : 40;
      const h = car ? 60 : 100;
      const speed = car ? 120 : 30 + k; // px per frame
      const x = ((k * 53 + i * speed) % (WIDTH + w)) - w;
      const y = 40 + ((k * 37) % (HEIGHT - h - 40));
      dets.push({ label: car ? 'car' : 'person', score: 0.35 + (k % 7) / 10, box: { x, y, w, h } });
    }
    const t0 = performance.now();
    const events = tracker.update(dets, image, at);
    const t1 = performance.now();
    behaviours.update(events, WIDTH, HEIGHT, at);
    behaviours_.push(performance.now() - t1);
    tracker_.push(t1 - t0);
  }
  return { trackerMs: mean(tracker_), behavioursMs: mean(behaviours_) };
}

/** ffmpeg CPU per delivered frame for one 640×360 H.264 stream read at 2 fps. */
async function decodeCost(streamFps: number): Promise<number> {
  const sim = new SimulatedCamera({ id: 'bench-decode', width: WIDTH, height: HEIGHT, fps: streamFps, initialScene: 'people' });
  await sim.start();
  const manager = new CameraManager(
    [
      {
        id: 'bench-decode',
        grid: '110105001002001',
        rtsp: sim.rtspUrl,
        source: 'rtsp',
        fps: FPS,
        width: WIDTH,
        height: HEIGHT,
        stallSeconds: 10,
        motionGate: false,
        queueFrames: 2,
      },
    ],
    { ffmpegPath: 'ffmpeg', log: { info: () => undefined, warn: () => undefined } },
  );
  let frames = 0;
  manager.addConsumer(() => void frames++);
  try {
    manager.start();
    await waitFor('frames', () => frames > 2, 30_000);
    const pid = manager.cameras.get('bench-decode')!.decoderPid;
    const cpu0 = cpuSeconds(pid);
    const n0 = frames;
    await new Promise((r) => setTimeout(r, 10_000));
    return ((cpuSeconds(pid) - cpu0) * 1000) / Math.max(1, frames - n0);
  } finally {
    await manager.stop();
    await sim.stop();
  }
}

async function streams(): Promise<{
  cameras: number;
  seconds: number;
  detectedFpsPerCamera: number;
  droppedPerCamera: number;
  minFps: number;
  meanMs: Record<string, number>;
}> {
  process.stderr.write(`starting ${CAMERAS} simulated cameras (${WIDTH}x${HEIGHT} H.264 @ ${FPS} fps), faces and plates…\n`);
  const sims = Array.from(
    { length: CAMERAS },
    (_, i) =>
      new SimulatedCamera({ id: `bench-${i + 1}`, width: WIDTH, height: HEIGHT, fps: FPS, initialScene: i % 2 ? 'crowd' : 'plate' }),
  );
  await Promise.all(sims.map((s) => s.start()));
  const manager = new CameraManager(
    sims.map((s) => ({
      id: s.id,
      grid: '110105001002001',
      rtsp: s.rtspUrl,
      source: 'rtsp' as const,
      fps: FPS,
      width: WIDTH,
      height: HEIGHT,
      stallSeconds: 10,
      motionGate: false,
      queueFrames: 2,
    })),
    { ffmpegPath: 'ffmpeg', log: { info: () => undefined, warn: () => undefined } },
  );
  const pool = new DetectorPool({ workers: WORKERS });
  const detected = new Map<string, number>();
  pool.start();
  manager.addConsumer(async (frame) => {
    await pool.detect(frame.camera, { width: frame.width, height: frame.height, data: frame.data }, { face: {}, plate: {} });
    detected.set(frame.camera, (detected.get(frame.camera) ?? 0) + 1);
  });
  try {
    manager.start();
    await waitFor('detections from every camera', () => detected.size === CAMERAS, 90_000);
    await new Promise((r) => setTimeout(r, 5000));
    const runtimes = [...manager.cameras.values()];
    const n0 = runtimes.map((r) => detected.get(r.id) ?? 0);
    const d0 = runtimes.map((r) => r.framesDropped);
    const t0 = Date.now();
    for (let s = 5; s <= SECONDS; s += 5) {
      await new Promise((r) => setTimeout(r, 5000));
      process.stderr.write(`  ${s}/${SECONDS} s\n`);
    }
    const elapsed = (Date.now() - t0) / 1000;
    const fps = runtimes.map((r, i) => ((detected.get(r.id) ?? 0) - n0[i]!) / elapsed);
    const dropped = runtimes.map((r, i) => (r.framesDropped - d0[i]!) / elapsed);
    return {
      cameras: CAMERAS,
      seconds: elapsed,
      detectedFpsPerCamera: mean(fps),
      droppedPerCamera: mean(dropped),
      minFps: Math.min(...fps),
      meanMs: pool.stats().meanMs,
    };
  } finally {
    await manager.stop();
    await pool.stop();
    await Promise.all(sims.map((s) => s.stop()));
  }
}

async function main(): Promise<void> {
  process.stderr.write(`part 1: each detector on ${FRAMES} frames of ${WIDTH}x${HEIGHT}…\n`);
  const detectors = await perDetector();
  process.stderr.write('measuring the decode cost of a 640x360 stream (10 s each at 2 and 10 fps)…\n');
  const decode2 = await decodeCost(2);
  const decode10 = await decodeCost(10);
  process.stderr.write('part 2: streams through the worker pool…\n');
  const live = await streams();
  process.stderr.write('part 3: tracker and behaviours on 20 moving objects…\n');
  const after = await stages(20, 400);
  const object = detectors.find((d) => d.detector === 'object')!;
  const stagesRatio = (object.bareMs + after.trackerMs + after.behavioursMs) / object.bareMs;
  const face = detectors.find((d) => d.detector === 'face')!;
  const plate = detectors.find((d) => d.detector === 'plate')!;
  const perFrameFacePlate = face.wholeMs + plate.wholeMs + decode2;
  const computedStreams = (os.cpus().length * 1000) / (FPS * perFrameFacePlate);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    frame: `${WIDTH}x${HEIGHT}`,
    detectors: detectors.map((d) => ({
      ...d,
      wholeWithDecodeMs: d.wholeMs + decode2,
      ratioWithDecode: d.bareMs > 0.5 ? (d.wholeMs + decode2) / d.bareMs : null,
    })),
    decodeMsPerFrame: { stream2fps: decode2, stream10fps: decode10 },
    facePlateMsPerFrame: perFrameFacePlate,
    computedStreamsAt2fps: computedStreams,
    live: { ...live, workers: WORKERS, carried: live.minFps >= FPS * 0.95 },
    stages: { objects: 20, ...after, objectBareMs: object.bareMs, ratio: stagesRatio },
  };
  const lines = [
    `detectors on ${WIDTH}x${HEIGHT} frames, one thread (${result.machine.cpus} cores, ${result.machine.model})`,
    "whole = preprocess + inference + postprocess; + decode adds the camera stage's ffmpeg decode of the frame (2 fps stream)",
    'detector  scene    bare ms  whole ms  whole/bare  + decode ms  (+decode)/bare  (goal ≤ 1.25)',
    ...detectors.map((d) => {
      const withDecode = d.wholeMs + decode2;
      const r = d.bareMs > 0.5 ? withDecode / d.bareMs : NaN;
      const verdict = d.bareMs < 0.5 ? '  (no model: colour rules)' : `  ${d.ratio <= 1.25 ? 'ok' : 'over'} / ${r <= 1.25 ? 'ok' : 'over'}`;
      return (
        `${d.detector.padEnd(8)}  ${d.scene.padEnd(7)}  ${f(d.bareMs).padStart(7)}  ${f(d.wholeMs).padStart(8)}  ` +
        `${f(d.ratio, 2).padStart(10)}  ${f(withDecode).padStart(11)}  ${f(r, 2).padStart(14)}${verdict}`
      );
    }),
    `decode (ffmpeg, per delivered frame): ${f(decode2)} ms from a 2 fps stream, ${f(decode10)} ms from a 10 fps stream`,
    `face + plate per frame, decode included: ${f(perFrameFacePlate)} ms → ${f(computedStreams)} streams at ${FPS} fps on ` +
      `${result.machine.cpus} cores (computed)`,
    `live: ${live.cameras} cameras × ${FPS} fps, face + plate, ${WORKERS} workers, ${f(live.seconds)} s: ` +
      `${f(live.detectedFpsPerCamera, 2)} frames detected/s per camera (slowest ${f(live.minFps, 2)}), ${f(live.droppedPerCamera, 2)} ` +
      `dropped/s per camera → ${result.live.carried ? 'carried' : 'NOT carried'} (goal ≥ 8 streams)`,
    'stage        objects  ms/frame  (object bare + stages)/bare  (goal ≤ 1.25)',
    `tracker      20       ${f(after.trackerMs, 3).padStart(8)}`,
    `behaviours   20       ${f(after.behavioursMs, 3).padStart(8)}  ` +
      `${f(stagesRatio, 3).padStart(27)}  ${stagesRatio <= 1.25 ? 'ok' : 'over'} (object bare ${f(object.bareMs)} ms)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/detectors-${result.date.slice(0, 10)}.json`, import.meta.url);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`written ${file.pathname}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:detectors failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
