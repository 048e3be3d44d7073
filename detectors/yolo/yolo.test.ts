/**
 * A deployment's YOLO model, read in both output layouts. No trained YOLO model ships in an npm
 * or Debian package, so the test builds real ONNX models whose output is a known table of
 * candidate boxes (the input still flows through the graph), and checks the decoding: layout,
 * objectness, class choice, letterbox undone, NMS per class, clear errors for wrong labels.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableModel as model, V5, V8 } from '../../test/helpers/onnx-models.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { YoloDetector, YoloError } from './yolo.js';

let dir = '';
const labels = ['fire', 'smoke'];
beforeAll(async () => {
  dir = await tempDir('yolo');
  await writeFile(path.join(dir, 'v5.onnx'), model(V5, [1, 4, 7]));
  await writeFile(path.join(dir, 'v8.onnx'), model(V8, [1, 6, 4]));
});

// A 128×64 picture letterboxed into 64×64: scale 0.5, 16 px of padding above and below.
const picture = { width: 128, height: 64, data: new Uint8Array(128 * 64 * 3).fill(90) };

describe('YOLO models from the deployment', () => {
  for (const layout of ['v5', 'v8'] as const) {
    it(`reads the ${layout} layout: best class per box, objectness, NMS per class, boxes in picture pixels`, async () => {
      const d = new YoloDetector({ model: path.join(dir, `${layout}.onnx`), labels, minScore: 0.3 });
      const found = await d.detect(picture);
      expect(found.map((f) => f.label)).toEqual(['fire', 'smoke']);
      const [fire, smoke] = found;
      expect(fire!.score).toBeCloseTo(0.9 * 0.95, 4);
      // cx 20, w 10 → x 15..25 in the model; picture: (15 - 0) / 0.5 = 30, y (15 - 16) / 0.5 → clipped at 0.
      expect(fire!.box.x).toBeCloseTo(30, 3);
      expect(fire!.box.w).toBeCloseTo(20, 3);
      expect(smoke!.box).toMatchObject({
        x: expect.closeTo(84, 3),
        y: expect.closeTo(40, 3),
        w: expect.closeTo(24, 3),
        h: expect.closeTo(16, 3),
      });
    });
  }

  it('says when the labels do not fit the model, and when the file is missing', async () => {
    await expect(
      new YoloDetector({ model: path.join(dir, 'v5.onnx'), labels: ['fire', 'smoke', 'helmet'] }).detect(picture),
    ).rejects.toThrow(YoloError);
    await expect(
      new YoloDetector({ model: path.join(dir, 'v5.onnx'), labels: ['fire', 'smoke', 'helmet'] }).detect(picture),
    ).rejects.toThrow(/fits neither layout with 3 labels/);
    await expect(new YoloDetector({ model: path.join(dir, 'v8.onnx'), labels, layout: 'v5' }).detect(picture)).rejects.toThrow(
      /YOLOv5 output rows have 4 values; 2 labels need 7/,
    );
    expect(() => new YoloDetector({ model: path.join(dir, 'none.onnx'), labels })).toThrow(/does not exist/);
  });
});
