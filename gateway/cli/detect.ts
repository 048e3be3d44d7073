/** `gridedge detect IMAGE...`: what the on-device detectors find in pictures, for commissioning and tests. */
import { existsSync } from 'node:fs';
import { decodeImage } from '../../detectors/image.js';
import { DETECTOR_NAMES, type DetectorName, makeDetector } from '../../detectors/registry.js';
import type { Detection, Detector } from '../../detectors/types.js';
import { UsageError } from './args.js';

export interface DetectResult {
  file: string;
  width: number;
  height: number;
  ms: number;
  detections: Detection[];
}

export async function detectCommand(
  files: string[],
  opts: { detector?: string; minScore?: number; json: boolean; ffmpeg?: string; model?: string; labels?: string },
  out: (s: string) => void,
): Promise<DetectResult[]> {
  if (!files.length) throw new UsageError('give one or more pictures');
  // Without --detector: every built-in one (a YOLO model is run only when given).
  const names: DetectorName[] = opts.detector ? [opts.detector as DetectorName] : DETECTOR_NAMES.filter((d) => d !== 'yolo');
  if (opts.detector === 'yolo' && (!opts.model || !opts.labels))
    throw new UsageError('--detector yolo needs --model FILE.onnx and --labels a,b,c (the class names in order)');
  if (opts.model && !existsSync(opts.model)) throw new UsageError(`${opts.model}: no such model file`);
  for (const n of names)
    if (!DETECTOR_NAMES.includes(n)) throw new UsageError(`--detector must be one of ${DETECTOR_NAMES.join(', ')}, not "${n}"`);
  for (const f of files) if (!existsSync(f)) throw new UsageError(`${f}: no such file`);
  // One fire detector for all the pictures: given in order, they are one sequence (flicker needs frames).
  const score = opts.minScore !== undefined ? { minScore: opts.minScore } : {};
  // --model and --labels describe a YOLO model; the built-in detectors keep their own labels.
  const yolo = {
    ...score,
    model: opts.model,
    labels: opts.labels
      ?.split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  };
  const detectors: Detector[] = await Promise.all(names.map((n) => makeDetector(n, n === 'yolo' ? yolo : score)));
  const results: DetectResult[] = [];
  for (const file of files) {
    const image = await decodeImage(file, opts.ffmpeg);
    const t0 = performance.now();
    const detections: Detection[] = [];
    for (const d of detectors) detections.push(...(await d.detect(image)));
    const result = {
      file,
      width: image.width,
      height: image.height,
      ms: Math.round(performance.now() - t0),
      detections: detections.map(rounded),
    };
    results.push(result);
    if (!opts.json) {
      out(
        `${file} (${image.width}x${image.height}, ${result.ms} ms): ${detections.length ? `${detections.length} found` : 'nothing found'}`,
      );
      for (const d of result.detections) out(`  ${describe(d)}`);
    }
  }
  if (opts.json) out(JSON.stringify(results, null, 2));
  return results;
}

function describe(d: Detection): string {
  const { x, y, w, h } = d.box;
  return [
    d.label.padEnd(5),
    d.score.toFixed(2),
    d.text ?? '',
    d.color ?? '',
    d.plateType ?? '',
    d.rows === 2 ? 'two-row' : '',
    `at ${x},${y} ${w}x${h}`,
  ]
    .filter(Boolean)
    .join('  ');
}

function rounded(d: Detection): Detection {
  const r = (n: number) => Math.round(n);
  return {
    ...d,
    score: Math.round(d.score * 1000) / 1000,
    box: { x: r(d.box.x), y: r(d.box.y), w: r(d.box.w), h: r(d.box.h) },
    ...(d.landmarks ? { landmarks: d.landmarks.map(([a, b]) => [r(a), r(b)] as [number, number]) } : {}),
  };
}
