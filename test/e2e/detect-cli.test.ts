/** `gridedge detect`, as a field engineer runs it on pictures from a camera. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENES, renderScenes } from '../../sim/camera/scenes.js';
import { gridedge } from '../helpers/cli.js';
import { tableModel, V5 } from '../helpers/onnx-models.js';
import { tempDir } from '../helpers/tmp.js';

const SAMPLE = path.resolve('node_modules/@vladmandic/face-api/demo/sample4.jpg');

describe('gridedge detect', () => {
  it('prints the faces in a group photo, as text and as JSON', async () => {
    const text = gridedge(['detect', SAMPLE, '--detector', 'face']);
    expect(await text.code).toBe(0);
    expect(text.stdout()).toMatch(/sample4\.jpg \(1920x\d+, \d+ ms\): 4 found/);
    expect(text.stdout().match(/^ {2}face /gm)).toHaveLength(4);
    const json = gridedge(['detect', SAMPLE, '--detector', 'face', '--json']);
    expect(await json.code).toBe(0);
    const [result] = JSON.parse(json.stdout()) as Array<{ detections: Array<{ label: string; score: number; box: { w: number } }> }>;
    expect(result!.detections).toHaveLength(4);
    for (const d of result!.detections) {
      expect(d.label).toBe('face');
      expect(d.score).toBeGreaterThan(0.7);
      expect(d.box.w).toBeGreaterThan(100);
    }
  }, 60_000);

  it('reads the plate on a vehicle, with its colour', async () => {
    const dir = await tempDir('detect-cli');
    const scenes = await renderScenes({ plate: BUILTIN_SCENES.plate! }, 640, 360);
    const file = path.join(dir, 'plate.jpg');
    await writeFile(file, scenes.get('plate')!.jpegs[0]!);
    const run = gridedge(['detect', file, '--detector', 'plate']);
    expect(await run.code).toBe(0);
    expect(run.stdout()).toMatch(/plate\s+[\d.]+\s+京A12345\s+blue/);
  }, 60_000);

  it('finds people and vehicles', async () => {
    const run = gridedge([
      'detect',
      '/usr/share/darknet/data/dog.jpg',
      '/usr/share/darknet/data/person.jpg',
      '--detector',
      'object',
      '--json',
    ]);
    expect(await run.code).toBe(0);
    const [dog, person] = JSON.parse(run.stdout()) as Array<{ detections: Array<{ label: string }> }>;
    expect(dog!.detections.map((d) => d.label).sort()).toEqual(['bicycle', 'car']);
    expect(person!.detections.map((d) => d.label)).toEqual(['person']);
  }, 60_000);

  it("runs the deployment's own YOLO model with its class names", async () => {
    const dir = await tempDir('detect-yolo');
    const model = path.join(dir, 'fire.onnx');
    await writeFile(model, tableModel(V5, [1, 4, 7]));
    const picture = path.join(dir, 'yard.ppm');
    await writeFile(picture, Buffer.concat([Buffer.from('P6\n128 64\n255\n'), Buffer.alloc(128 * 64 * 3, 90)]));
    const run = gridedge(['detect', picture, '--detector', 'yolo', '--model', model, '--labels', 'fire,smoke', '--json']);
    expect(await run.code).toBe(0);
    expect((JSON.parse(run.stdout()) as Array<{ detections: Array<{ label: string }> }>)[0]!.detections.map((d) => d.label)).toEqual([
      'fire',
      'smoke',
    ]);
    const missing = gridedge(['detect', picture, '--detector', 'yolo']);
    expect(await missing.code).toBe(2);
    expect(missing.stderr()).toMatch(/--detector yolo needs --model FILE.onnx and --labels/);
  }, 60_000);

  it('refuses what it cannot do, with exit code 2', async () => {
    const bad = gridedge(['detect', SAMPLE, '--detector', 'helmet']);
    expect(await bad.code).toBe(2);
    expect(bad.stderr()).toMatch(/--detector must be one of face, plate, object, fire, yolo/);
    const missing = gridedge(['detect', '/nonexistent.jpg']);
    expect(await missing.code).toBe(2);
    expect(missing.stderr()).toMatch(/no such file/);
    const score = gridedge(['detect', SAMPLE, '--min-score', '7']);
    expect(await score.code).not.toBe(0);
    expect(score.stderr()).toMatch(/not a score between 0 and 1/);
  }, 60_000);
});
