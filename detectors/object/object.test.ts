/**
 * People and vehicles: the tfjs → ONNX converter proved against TensorFlow.js itself (same input,
 * outputs compared), then the converted model on the scene photos of Debian's darknet package.
 * Ground truth boxes are the objects of those well-known photos, checked by eye.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import { decodeImage } from '../image.js';
import { TFJS_MODELS } from '../models.js';
import { iou, type Box } from '../types.js';
import { ObjectDetector } from './centernet.js';
import { objectModel } from './model.js';
import { ConversionError, convertTfjsGraph, type TfjsGraphModel } from './tfjs-to-onnx.js';

const SCENES = '/usr/share/darknet/data';
const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x: x1, y: y1, w: x2 - x1, h: y2 - y1 });
const TRUTH: Record<string, Array<{ label: string; box: Box }>> = {
  'person.jpg': [{ label: 'person', box: box(190, 100, 275, 380) }],
  'dog.jpg': [
    { label: 'bicycle', box: box(120, 130, 570, 425) },
    { label: 'car', box: box(465, 75, 690, 170) },
  ],
  'horses.jpg': [],
  'giraffe.jpg': [],
  'eagle.jpg': [],
};

describe('tfjs → ONNX converter', () => {
  it('gives the same outputs as TensorFlow.js on a real picture', async () => {
    const source = TFJS_MODELS.centernet();
    const json = JSON.parse(await readFile(source, 'utf8')) as TfjsGraphModel & { modelTopology: object };
    const bin = await readFile(path.join(path.dirname(source), 'centernet.bin'));
    await tf.setBackend('cpu');
    const reference = await loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0]!.weights as tf.io.WeightsManifestEntry[],
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
      }),
    );
    const detector = new ObjectDetector({ labels: ['*'], minScore: 0.3 });
    const input = detector.preprocess(await decodeImage(`${SCENES}/dog.jpg`));
    const x = tf.tensor(input.tensor, [1, 512, 512, 3]);
    const outs = reference.execute(x, ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections']) as tf.Tensor[];
    const [keypoints, wh, detections] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    tf.dispose([x, ...outs]);
    reference.dispose();

    const ours = await detector.infer(input.tensor);
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const dk = maxDiff(ours.keypoints, keypoints!);
    const dw = maxDiff(ours.wh, wh!);
    console.log(
      `converted vs tfjs: heat map max |Δ| ${dk.toExponential(2)} (scores 0..1); box sides max |Δ| ${dw.toExponential(2)} px of up to ` +
        `${maxAbs(wh!).toFixed(0)} px`,
    );
    expect(dk).toBeLessThan(1e-4);
    expect(dw).toBeLessThan(0.01);

    // Our decoding (in input pixels) finds the boxes tfjs's own graph decodes, with the same classes.
    const decoded = detector.decode(ours, { width: 512, height: 512, data: new Uint8Array(0) }, { scale: 1, dx: 0, dy: 0 });
    const theirs: Array<{ label: number; score: number; box: Box }> = [];
    for (let i = 0; i < 100; i++) {
      const [x1, y1, x2, y2, score, cls] = detections!.slice(i * 6, i * 6 + 6);
      if (score! >= 0.3) theirs.push({ label: cls!, score: score!, box: box(x1!, y1!, x2!, y2!) });
    }
    expect(theirs.length).toBeGreaterThan(2);
    for (const t of theirs) {
      const match = decoded.find((d) => Math.abs(d.score - t.score) < 1e-3 && iou(d.box, t.box) > 0.95);
      expect(match, `tfjs box of class ${t.label} score ${t.score.toFixed(2)}`).toBeDefined();
    }
  }, 120_000);

  it('refuses ops it does not know, by name, rather than write a wrong model', () => {
    const graph: TfjsGraphModel = {
      modelTopology: {
        node: [
          {
            name: 'in',
            op: 'Placeholder',
            attr: { shape: { shape: { dim: [{ size: '1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } },
          },
          { name: 'out', op: 'Softmax', input: ['in'] },
        ],
      },
      weightsManifest: [],
    };
    expect(() => convertTfjsGraph(graph, Buffer.alloc(0), { outputs: ['out'] })).toThrow(
      new ConversionError('op Softmax (node out) is not supported by this converter'),
    );
    expect(() => convertTfjsGraph(graph, Buffer.alloc(0), { outputs: ['nowhere'] })).toThrow(/no node named nowhere/);
  });
});

describe('object detector (converted CenterNet)', () => {
  it('finds people, cars and bicycles in the scene photos, and none in photos without them', async () => {
    const detector = new ObjectDetector();
    let tp = 0,
      fp = 0,
      fn = 0;
    for (const [file, truth] of Object.entries(TRUTH)) {
      const found = await detector.detect(await decodeImage(`${SCENES}/${file}`));
      const matched = new Set<number>();
      for (const f of found) {
        const i = truth.findIndex((t, k) => !matched.has(k) && t.label === f.label && iou(t.box, f.box) >= 0.5);
        if (i >= 0) {
          matched.add(i);
          tp++;
        } else {
          fp++;
          console.log(`unexpected in ${file}: ${f.label} ${f.score.toFixed(2)}`);
        }
      }
      fn += truth.length - matched.size;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    console.log(
      `people and vehicles (darknet scene photos): precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (tp ${tp}, fp ` +
        `${fp}, fn ${fn})`,
    );
    expect(recall).toBe(1);
    expect(precision).toBe(1);
  }, 60_000);

  it('finds the many small people of a crowded beach', async () => {
    const people = (await new ObjectDetector({ labels: ['person'] }).detect(await decodeImage(`${SCENES}/kite.jpg`))).filter(
      (d) => d.label === 'person',
    );
    expect(people.length).toBeGreaterThanOrEqual(5);
  });

  it('names an unknown label in its error', () => {
    expect(() => new ObjectDetector({ labels: ['person', 'tank'] })).toThrow(/unknown object label "tank"/);
  });
});

describe('model preparation', () => {
  const saved = process.env.GRIDEDGE_MODEL_DIR;
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('models');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.GRIDEDGE_MODEL_DIR;
    else process.env.GRIDEDGE_MODEL_DIR = saved;
  });

  it('converts once, reuses the file, and converts again when the stamp does not match its source', async () => {
    process.env.GRIDEDGE_MODEL_DIR = dir;
    const lines: string[] = [];
    const file = await objectModel((l) => lines.push(l));
    expect(file).toBe(path.join(dir, 'centernet-coco.onnx'));
    expect(lines).toHaveLength(1);
    const first = await stat(file);
    expect(first.size).toBeGreaterThan(1_000_000);
    await writeFile(`${file}.source`, 'from another model');
    // A fresh process would look again; here a second directory key does the same.
    process.env.GRIDEDGE_MODEL_DIR = `${dir}/`;
    await objectModel((l) => lines.push(l));
    expect(lines).toHaveLength(2);
    process.env.GRIDEDGE_MODEL_DIR = `${dir}//`;
    await objectModel((l) => lines.push(l));
    expect(lines).toHaveLength(2);
  }, 60_000);
});
