/**
 * A detector worker thread: models load here, inference runs here, so the gateway's event loop
 * (MQTT ingest, the API) never waits on a model. One job at a time; the pool feeds it.
 */
import { parentPort } from 'node:worker_threads';
import { releaseSessions } from '../models.js';
import type { Detection, Detector } from '../types.js';
import { type DetectorName, type DetectorSet, makeDetector } from '../registry.js';

export interface DetectJob {
  seq: number;
  camera: string;
  width: number;
  height: number;
  data: ArrayBuffer;
  detectors: DetectorSet;
}

export type DetectReply = { seq: number; detections: Detection[]; ms: Record<string, number> } | { seq: number; error: string };

// Per camera and settings: the fire detector remembers the camera's past frames.

const detectors = new Map<string, Promise<Detector>>();

function detectorFor(camera: string, name: DetectorName, set: DetectorSet): Promise<Detector> {
  const key = `${camera}\u0000${name}\u0000${JSON.stringify(set[name])}`;
  let d = detectors.get(key);
  if (!d) {
    d = makeDetector(name, set[name]);
    // A detector that could not be made (a missing model) is tried afresh on the next frame.
    d.catch(() => detectors.delete(key));
    detectors.set(key, d);
  }
  return d;
}

async function run(job: DetectJob): Promise<DetectReply> {
  const image = { width: job.width, height: job.height, data: new Uint8Array(job.data) };
  const found: Detection[] = [];
  const ms: Record<string, number> = {};
  for (const name of Object.keys(job.detectors) as DetectorName[]) {
    const t0 = performance.now();
    found.push(...(await (await detectorFor(job.camera, name, job.detectors)).detect(image)));
    ms[name] = performance.now() - t0;
  }
  return { seq: job.seq, detections: found, ms };
}

// Jobs run one after another; a stop waits for the job in hand. Terminating a thread while
// onnxruntime is inside a run aborts the whole process, so the pool asks, and this thread leaves.
let chain: Promise<void> = Promise.resolve();

parentPort?.on('message', (msg: DetectJob | { type: 'stop' }) => {
  if ('type' in msg) {
    chain = chain.then(async () => {
      await releaseSessions();
      process.exit(0);
    });
    return;
  }
  chain = chain.then(() =>
    run(msg).then(
      (reply) => parentPort!.postMessage(reply),
      (err: unknown) => parentPort!.postMessage({ seq: msg.seq, error: (err as Error).message }),
    ),
  );
});
