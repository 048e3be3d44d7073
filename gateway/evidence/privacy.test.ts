/**
 * Masking on real photos (the group photos of @vladmandic/face-api's demo, people the project
 * never saw): every face BlazeFace finds in the original is blurred in what leaves, the rest of
 * the picture is kept; a face crop leaves blurred whole; a finder that fails blurs everything.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/package.js';
import { FaceDetector } from '../../detectors/face/blazeface.js';
import type { Box, RgbImage } from '../../detectors/types.js';
import { Masker, thumbnail } from './privacy.js';

const PHOTO = readFileSync(path.join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg'));

async function raw(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** Mean absolute difference between horizontally adjacent pixels (grey): detail in a region. */
function detail(img: RgbImage, b: Box): number {
  let sum = 0;
  let n = 0;
  const x0 = Math.max(0, Math.round(b.x));
  const y0 = Math.max(0, Math.round(b.y));
  const x1 = Math.min(img.width - 1, Math.round(b.x + b.w));
  const y1 = Math.min(img.height, Math.round(b.y + b.h));
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1 - 1; x++) {
      const i = (y * img.width + x) * 3;
      const g = (k: number) => img.data[k]! + img.data[k + 1]! + img.data[k + 2]!;
      sum += Math.abs(g(i) - g(i + 3)) / 3;
      n++;
    }
  return n ? sum / n : 0;
}

function meanDiff(a: RgbImage, b: RgbImage, box: Box): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.round(box.y); y < Math.round(box.y + box.h); y++)
    for (let x = Math.round(box.x); x < Math.round(box.x + box.w); x++) {
      const i = (y * a.width + x) * 3;
      sum += Math.abs(a.data[i]! - b.data[i]!) + Math.abs(a.data[i + 1]! - b.data[i + 1]!) + Math.abs(a.data[i + 2]! - b.data[i + 2]!);
      n += 3;
    }
  return sum / n;
}

const faceFinder = async (image: RgbImage) => (await new FaceDetector({ minScore: 0.5 }).detect(image)).map((d) => d.box);

describe('masking what leaves the gateway', () => {
  it('blurs every face of a real group photo and keeps the rest of it', async () => {
    const original = await raw(PHOTO);
    const faces = await faceFinder(original);
    expect(faces.length).toBeGreaterThanOrEqual(3);
    const masker = new Masker(new Set(['plate']), { face: faceFinder });
    const out = await masker.mask(PHOTO, 'image/jpeg', 'snapshot');
    expect(out.masked).toMatchObject({ whole: false, face: faces.length });
    const masked = await raw(out.bytes);
    expect([masked.width, masked.height]).toEqual([original.width, original.height]);
    for (const f of faces) {
      const before = detail(original, f);
      const after = detail(masked, f);
      // The region keeps its colours but loses its detail: eyes, mouth and edges are gone.
      expect(after, `face at ${Math.round(f.x)},${Math.round(f.y)}`).toBeLessThan(before * 0.35);
    }
    // The masked picture finds no face any more (what a viewer upstream would see).
    expect(await faceFinder(masked)).toHaveLength(0);
    // Away from the faces the picture is the same picture (JPEG re-encoding aside).
    const corner = { x: 0, y: original.height - 200, w: 200, h: 200 };
    if (!faces.some((f) => f.x < 300 && f.y + f.h > original.height - 300)) expect(meanDiff(original, masked, corner)).toBeLessThan(4);
  }, 60_000);

  it('blurs a face crop whole, and leaves it alone when the site allows faces', async () => {
    const original = await raw(PHOTO);
    const [face] = await faceFinder(original);
    const crop = await sharp(PHOTO)
      .extract({ left: Math.round(face!.x), top: Math.round(face!.y), width: Math.round(face!.w), height: Math.round(face!.h) })
      .jpeg()
      .toBuffer();
    const blocked = await new Masker(new Set(), { face: faceFinder }).mask(crop, 'image/jpeg', 'face');
    expect(blocked.masked).toMatchObject({ whole: true });
    const c = await raw(crop);
    const b = await raw(blocked.bytes);
    expect(detail(b, { x: 0, y: 0, w: b.width, h: b.height })).toBeLessThan(detail(c, { x: 0, y: 0, w: c.width, h: c.height }) * 0.3);
    const allowed = await new Masker(new Set(['face', 'plate']), {}).mask(crop, 'image/jpeg', 'face');
    expect(allowed).toEqual({ bytes: crop, mime: 'image/jpeg', masked: false });
  }, 60_000);

  it('fails closed: a finder that cannot run blurs the whole image', async () => {
    const masker = new Masker(new Set(['plate']), {
      face: () => Promise.reject(new Error('model missing')),
    });
    const out = await masker.mask(PHOTO, 'image/jpeg', 'scene');
    expect(out.masked).toMatchObject({ whole: true });
    expect(await faceFinder(await raw(out.bytes))).toHaveLength(0);
  }, 60_000);

  it('makes thumbnails that fit their byte limit whatever the photo', async () => {
    const t = await thumbnail(PHOTO, { maxWidth: 320, maxHeight: 240, quality: 90, maxBytes: 6000 });
    expect(t).toBeDefined();
    expect(t!.bytes.length).toBeLessThanOrEqual(6000);
    expect(t!.width).toBeLessThanOrEqual(320);
    expect(t!.height).toBeLessThanOrEqual(240);
    expect((await sharp(t!.bytes).metadata()).format).toBe('jpeg');
  });
});
