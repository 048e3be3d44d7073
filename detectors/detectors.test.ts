/**
 * The detectors on real pictures that ship in packages, and on rendered plates and flames;
 * precision and recall are printed. Ground truth: the faces in @vladmandic/face-api's demo
 * photos (boxes checked by eye on a contact sheet), the text of each rendered plate.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SCENES, renderScenes, type RenderedScene } from '../sim/camera/scenes.js';
import { tempDir } from '../test/helpers/tmp.js';
import { FaceDetector } from './face/blazeface.js';
import { CLIPS, renderClip } from '../test/helpers/fire-clips.js';
import { FireDetector, flameLike, vetoVehicleLamps } from './fire/fire.js';
import { decodeImage } from './image.js';
import { PLATE_TYPES, type PlateType, parsePlate, plateType } from '../contracts/plate.js';
import { LATIN_FONTS, renderPlate, type Variant } from '../test/helpers/plates.js';
import { PlateDetector } from './plate/plate.js';
import { iou, type Box, type PlateColor } from './types.js';

const run = promisify(execFile);
const SAMPLES = path.resolve('node_modules/@vladmandic/face-api/demo');

const FACES: Record<string, Array<[number, number, number]>> = {
  'sample1.jpg': [
    [417, 405, 198],
    [1496, 271, 143],
    [852, 471, 172],
  ],
  'sample2.jpg': [
    [1453, 191, 198],
    [891, 259, 191],
    [353, 189, 207],
  ],
  'sample3.jpg': [
    [590, 388, 200],
    [1064, 255, 251],
    [1467, 333, 235],
  ],
  'sample4.jpg': [
    [975, 227, 203],
    [675, 125, 166],
    [1282, 209, 152],
    [237, 248, 177],
  ],
  'sample5.jpg': [
    [363, 927, 235],
    [569, 454, 198],
    [776, 159, 166],
    [1405, 441, 218],
    [1116, 258, 183],
  ],
  'sample6.jpg': [
    [231, 524, 241],
    [653, 379, 240],
    [1151, 354, 226],
    [1465, 314, 245],
  ],
};

function report(what: string, tp: number, fp: number, fn: number): { precision: number; recall: number } {
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  console.log(`${what}: precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (tp ${tp}, fp ${fp}, fn ${fn})`);
  return { precision, recall };
}

describe('face detector (BlazeFace)', () => {
  it('finds the faces in the group photos, and nothing else', async () => {
    const detector = new FaceDetector();
    let tp = 0,
      fp = 0,
      fn = 0;
    for (const [file, truth] of Object.entries(FACES)) {
      const faces = await detector.detect(await decodeImage(path.join(SAMPLES, file)));
      const boxes: Box[] = truth.map(([x, y, s]) => ({ x, y, w: s, h: s }));
      const matched = new Set<number>();
      for (const f of faces) {
        const i = boxes.findIndex((b, k) => !matched.has(k) && iou(b, f.box) >= 0.5);
        if (i >= 0) {
          matched.add(i);
          tp++;
        } else fp++;
        expect(f.landmarks).toHaveLength(6);
      }
      fn += boxes.length - matched.size;
      expect(faces.length, file).toBe(truth.length);
    }
    const { precision, recall } = report('faces (face-api demo photos)', tp, fp, fn);
    expect(precision).toBe(1);
    expect(recall).toBe(1);
  }, 60_000);

  it('finds small faces far from the camera through tiles', async () => {
    const dir = await tempDir('faces');
    const far = path.join(dir, 'far.jpg');
    // The photo shrunk to a third and set in a 1920×1080 frame: faces of about 60 px.
    await run('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-i',
      path.join(SAMPLES, 'sample4.jpg'),
      '-vf',
      'scale=640:-2,pad=1920:1080:700:300:gray',
      far,
    ]);
    const faces = await new FaceDetector().detect(await decodeImage(far));
    expect(faces).toHaveLength(4);
    for (const f of faces) expect(f.box.w).toBeLessThan(100);
  }, 30_000);
});

describe('plate detector (PP-OCRv4 + plate rules)', () => {
  const PLATES: Array<[string, string, string, PlateColor]> = [
    ['京A·12345', '0x0a3d9c', 'white', 'blue'],
    ['粤B·D12345', '0x6fcf7f', 'black', 'green'],
    ['沪C·8K9Q2', '0xf2c200', 'black', 'yellow'],
    ['苏E·5A7B9', 'white', 'black', 'white'],
    ['粤Z·1234港', 'black', 'white', 'black'],
    ['川A·F6688', '0x6fcf7f', 'black', 'green'],
    ['浙B·3N5T7', '0x0a3d9c', 'white', 'blue'],
  ];
  const FONT = '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc';
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir('plates');
  });

  it('reads rendered plates exactly, with their colour', async () => {
    const detector = new PlateDetector();
    let tp = 0,
      fp = 0,
      fn = 0;
    for (const [i, [text, bg, fg, colour]] of PLATES.entries()) {
      const file = path.join(dir, `plate-${i}.png`);
      const textFile = path.join(dir, `plate-${i}.txt`);
      await import('node:fs/promises').then((fs) => fs.writeFile(textFile, text));
      await run('ffmpeg', [
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        `color=c=${bg}:s=440x140`,
        '-frames:v',
        '1',
        '-vf',
        `drawtext=fontfile=${FONT}:textfile=${textFile}:fontcolor=${fg}:fontsize=80:x=(w-text_w)/2:y=(h-text_h)/2`,
        file,
      ]);
      const found = await detector.detect(await decodeImage(file));
      const want = text.replace('·', '');
      const hit = found.find((f) => f.text === want);
      if (hit) tp++;
      else fn++;
      fp += found.filter((f) => f.text !== want).length;
      expect(
        found.map((f) => [f.text, f.color]),
        text,
      ).toEqual([[want, colour]]);
    }
    report('plates (rendered)', tp, fp, fn);
  }, 60_000);

  it('reads the plate on a vehicle in a camera scene, and finds none where there is none', async () => {
    const scenes = await renderScenes(
      { plate: BUILTIN_SCENES.plate!, vehicles: BUILTIN_SCENES.vehicles!, people: BUILTIN_SCENES.people! },
      1280,
      720,
    );
    const detector = new PlateDetector();
    const onVehicle = await detector.detect(await decodeImage(scenes.get('plate')!.jpegs[0]!));
    expect(onVehicle.map((p) => [p.text, p.color])).toEqual([['京A12345', 'blue']]);
    expect(onVehicle[0]!.box.y).toBeGreaterThan(720 * 0.7); // where the scene drew it
    for (const name of ['vehicles', 'people'])
      expect(await detector.detect(await decodeImage(scenes.get(name)!.jpegs[0]!)), name).toEqual([]);
  }, 60_000);

  it('reads every plate type, one-row and two-row, in three faces, clean, warped, blurred and small, and says its type', async () => {
    // [text, rows, background, ink, type]: GA 36-2018's layouts and colours.
    const SET: Array<[string, 1 | 2, string, string, PlateType]> = [
      ['京A12345', 1, '0x0a3d9c', 'white', 'small'],
      ['冀B3N5T7', 1, '0xf2c200', 'black', 'large'],
      ['冀B35827', 2, '0xf2c200', 'black', 'large'],
      ['京A1234挂', 2, '0xf2c200', 'black', 'trailer'],
      ['鲁C2468学', 1, '0xf2c200', 'black', 'coach'],
      ['苏E1357学', 2, '0xf2c200', 'black', 'coach'],
      ['京A0001警', 1, 'white', 'black', 'police'],
      ['京X1234应急', 1, 'white', 'black', 'emergency'],
      ['使014578', 1, 'black', 'white', 'embassy'],
      ['沪A1234领', 1, 'black', 'white', 'consulate'],
      ['粤Z1234港', 1, 'black', 'white', 'hong_kong'],
      ['粤Z5678澳', 1, 'black', 'white', 'macau'],
      ['民航A1234', 1, '0x2e7d32', 'white', 'civil_aviation'],
      ['粤BD12345', 1, '0x6fcf7f', 'black', 'new_energy_small'],
      ['沪A12345F', 1, '0xb5d86b', 'black', 'new_energy_large'],
    ];
    expect(new Set(SET.map((s) => s[4]))).toEqual(new Set(PLATE_TYPES)); // every type is tried
    const detector = new PlateDetector();
    const tally = new Map<string, { read: number; of: number }>();
    let wrong = 0;
    const misses: string[] = [];
    // Every variant in Zen Hei; the two DejaVu faces clean and warped (the suite's CPU is shared).
    for (const [font, face] of Object.entries(LATIN_FONTS))
      for (const variant of (font === 'zenhei' ? ['clean', 'warped', 'blurred', 'small'] : ['clean', 'warped']) as Variant[])
        for (const [text, rows, background, ink, type] of SET) {
          const found = await detector.detect(await renderPlate({ text, rows, background, ink }, variant, face));
          const hit = found.some((f) => f.text === text && f.plateType === type && f.rows === rows);
          wrong += found.filter((f) => f.text !== text).length;
          const key = `${type}${rows === 2 ? ' (two-row)' : ''}`;
          const t = tally.get(key) ?? { read: 0, of: 0 };
          t.of++;
          if (hit) t.read++;
          else misses.push(`${text} ${variant} ${font}: ${found.map((f) => f.text).join(',') || 'nothing'}`);
          tally.set(key, t);
          if (variant === 'clean' && font === 'zenhei' && type !== 'emergency') expect(hit, `${text} clean`).toBe(true);
        }
    const lines = [...tally].map(([k, v]) => `  ${k.padEnd(28)} ${v.read}/${v.of}  ${(v.read / v.of).toFixed(2)}`);
    const all = [...tally.values()].reduce((a, v) => ({ read: a.read + v.read, of: a.of + v.of }), { read: 0, of: 0 });
    process.stdout.write(
      `plate exact reads by type (Zen Hei clean, warped, blurred, small; DejaVu Sans and Mono clean, warped):\n${lines.join('\n')}\n` +
        `  all ${all.read}/${all.of} ${(all.read / all.of).toFixed(3)}; misreads ${wrong}\n  missed: ${misses.join('; ')}\n`,
    );
    const rest = [...tally]
      .filter(([k]) => k !== 'emergency')
      .reduce((a, [, v]) => ({ read: a.read + v.read, of: a.of + v.of }), { read: 0, of: 0 });
    expect(rest.read / rest.of).toBeGreaterThanOrEqual(0.9);
    expect(wrong).toBe(0); // a plate it cannot read is missed, never reported as another plate
  }, 180_000);

  it('tells each plate type from its text and colour (one grammar for detector, cameras and watchlists)', () => {
    expect(plateType('京A12345', 'blue')).toBe('small');
    expect(plateType('京A12345', 'yellow')).toBe('large');
    expect(plateType('粤BD12345', 'green')).toBe('new_energy_small');
    expect(plateType('沪A12345F', 'green')).toBe('new_energy_large');
    expect(plateType('京A1234挂')).toBe('trailer');
    expect(plateType('京A1234学')).toBe('coach');
    expect(plateType('京A0001警')).toBe('police');
    expect(plateType('京X1234应急')).toBe('emergency');
    expect(plateType('使014578')).toBe('embassy');
    expect(plateType('沪A1234领')).toBe('consulate');
    expect(plateType('粤Z1234港')).toBe('hong_kong');
    expect(plateType('粤Z1234澳')).toBe('macau');
    expect(plateType('民航A1234')).toBe('civil_aviation');
    expect(plateType('京A123456')).toBeUndefined(); // six with no D or F at either end
    expect(parsePlate('京Ａ·１２３４５')).toBe('京A12345'); // full-width, as GBK text carries it
    expect(parsePlate('粤Z5678奥')).toBe('粤Z5678澳');
    expect(parsePlate('使O14578')).toBe('使014578');
    expect(parsePlate('民航A12B4')).toBe('民航A12B4');
    expect(parsePlate('使01457')).toBeUndefined();
    expect(parsePlate('J川A·F6688')).toBe('川AF6688'); // the plate's left edge read as a J
  });

  it('parses plate text the way plates are written', () => {
    expect(parsePlate('京A·12345')).toBe('京A12345');
    expect(parsePlate('京A-12345')).toBe('京A12345');
    expect(parsePlate('京A.12345')).toBe('京A12345');
    expect(parsePlate('京A 1234O')).toBe('京A12340'); // O is read as 0 after the letter
    expect(parsePlate('粤BD12345')).toBe('粤BD12345'); // new energy
    expect(parsePlate('粤B123456')).toBeUndefined(); // six without D/F is not a plate
    expect(parsePlate('京A1234挂')).toBe('京A1234挂');
    expect(parsePlate('川IA·F6688')).toBe('川AF6688');
    expect(parsePlate('京I12345')).toBeUndefined(); // I is no issuing letter
    expect(parsePlate('北京欢迎你')).toBeUndefined();
    expect(parsePlate('XA12345')).toBeUndefined();
  });
});

describe('fire and smoke detector (colour, flicker, spread)', () => {
  let scenes: Map<string, RenderedScene>;
  beforeAll(async () => {
    scenes = await renderScenes(BUILTIN_SCENES, 640, 360);
  }, 60_000);

  async function play(names: string[], loops = 2): Promise<Array<{ scene: string; labels: string[] }>> {
    const detector = new FireDetector();
    const out: Array<{ scene: string; labels: string[] }> = [];
    for (const name of names) {
      const s = scenes.get(name)!;
      for (let k = 0; k < loops; k++)
        for (const jpeg of s.jpegs) out.push({ scene: name, labels: (await detector.detect(await decodeImage(jpeg))).map((d) => d.label) });
    }
    return out;
  }

  it('sees fire in flame footage and none in plain scenes; smoke where a plume spreads', async () => {
    let tp = 0,
      fp = 0,
      fn = 0;
    // Fire: the flame loop after a street view; flames appearing in a still scene are change enough.
    const fire = await play(['street', 'fire']);
    for (const f of fire) {
      const truth = f.scene === 'fire';
      const seen = f.labels.includes('fire');
      if (truth && seen) tp++;
      else if (seen) fp++;
      else if (truth) fn++;
    }
    for (const name of ['street', 'people', 'vehicles', 'faces', 'crowd', 'plate']) {
      const frames = await play([name], 3);
      fp += frames.filter((f) => f.labels.length).length;
    }
    // One camera cutting between scenes (a PTZ tour, lights switched on): a cut is not smoke spreading or flames flickering.
    const cuts = await play(['street', 'plate', 'people', 'covered', 'vehicles', 'crowd', 'faces', 'street'], 1);
    fp += cuts.filter((f) => f.labels.length).length;
    const r = report('fire (rendered flame footage vs six plain scenes, and cuts between them)', tp, fp, fn);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeGreaterThan(0.9);

    const smoke = await play(['people', 'smoke']);
    const plume = smoke.filter((f) => f.scene === 'smoke');
    const seen = plume.filter((f) => f.labels.includes('smoke')).length;
    report(
      'smoke (rendered plume over a street scene)',
      seen,
      smoke.filter((f) => f.scene === 'people' && f.labels.length).length,
      plume.length - seen,
    );
    expect(seen).toBeGreaterThanOrEqual(plume.length / 2);
    expect(smoke.filter((f) => f.scene === 'people').every((f) => f.labels.length === 0)).toBe(true);
  }, 90_000);

  it('rejects blinking lights, a beacon, brake lights, headlights, a sunset and fluorescent flicker; still finds flames', async () => {
    let tp = 0,
      fp = 0,
      fn = 0;
    const lines: string[] = [];
    for (const clip of CLIPS) {
      const detector = new FireDetector();
      const seen: boolean[] = [];
      // A flame clip is judged on flames; anything found in the others (flames or smoke) is a false alarm.
      for (const frame of await renderClip(clip)) seen.push((await detector.detect(frame)).some((d) => !clip.fire || d.label === 'fire'));
      // The first frame has no history (colour only, never confident): it is no test of either.
      const judged = seen.slice(1);
      const hits = judged.filter(Boolean).length;
      if (clip.fire) {
        tp += hits;
        fn += judged.length - hits;
        // An alarm needs fireConfirmFrames (3) frames of one track: the flame must be found that long.
        expect(longestRun(seen), clip.name).toBeGreaterThanOrEqual(3);
      } else {
        fp += hits;
        expect(hits, `${clip.name}: frames called fire`).toBe(0);
      }
      lines.push(`  ${clip.fire ? 'flame   ' : 'no flame'}  ${clip.name.padEnd(58)} ${seen.map((s) => (s ? 'F' : '.')).join('')}`);
    }
    process.stdout.write(`fire clips (F: fire found in the frame; in clips without flames, fire or smoke):\n${lines.join('\n')}\n`);
    const r = report('fire (rendered flames vs lamps, beacons, brake lights, headlights, sunset, fluorescent)', tp, fp, fn);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeGreaterThan(0.9);
  }, 120_000);

  it("takes the object detector's word that a small flame inside a car is its tail light, not a burning car", () => {
    const car = { label: 'car', score: 0.9, box: { x: 100, y: 100, w: 200, h: 120 } };
    const tailLight = { label: 'fire', score: 0.9, box: { x: 270, y: 170, w: 20, h: 12 } };
    const carFire = { label: 'fire', score: 0.9, box: { x: 120, y: 90, w: 150, h: 90 } };
    const bin = { label: 'fire', score: 0.9, box: { x: 400, y: 200, w: 20, h: 20 } };
    expect(vetoVehicleLamps([car, tailLight, carFire, bin])).toEqual({ kept: [car, carFire, bin], vetoed: 1 });
    expect(vetoVehicleLamps([tailLight]).kept).toEqual([tailLight]); // no vehicle seen: no veto
  });

  it('tells flame flicker from a lamp switching, a sweeping beacon and a still edge', () => {
    const flame = { magnitude: 10, coherence: 0.3, roughness: 0.4, shapeChange: 0.2 };
    expect(flameLike(flame)).toBe(true);
    expect(flameLike({ ...flame, coherence: 0.95 })).toBe(false); // the whole region at once
    expect(flameLike({ ...flame, roughness: 0.1 })).toBe(false); // smooth across it
    expect(flameLike({ ...flame, shapeChange: 0 })).toBe(false); // the same outline every time
  });

  it('gives a still picture colour evidence only, under the default threshold', async () => {
    const still = await decodeImage(scenes.get('fire')!.jpegs[0]!);
    expect(await new FireDetector().detect(still)).toEqual([]);
    const candidates = await new FireDetector({ minScore: 0.2 }).detect(still);
    expect(candidates.map((c) => c.label)).toEqual(['fire']);
    expect(candidates[0]!.score).toBeLessThan(0.5);
  });
});

function longestRun(xs: boolean[]): number {
  let best = 0;
  let run = 0;
  for (const x of xs) {
    run = x ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}
