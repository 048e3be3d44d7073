/**
 * What a simulated camera shows: scenes composed from real pictures (Debian's darknet sample
 * photos, any JPEG/PNG you name), optionally with a rendered Chinese licence plate, scaled to the
 * stream's size by ffmpeg. The same JPEG feeds the RTSP stream and the snapshot endpoint, so a
 * detector test knows exactly what the camera showed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../core/package.js';

const run = promisify(execFile);

export interface SceneSpec {
  /** A picture file (JPEG, PNG); without one, a plain colour (an empty view). */
  image?: string;
  color?: string;
  /** A licence plate drawn into the picture, e.g. 京A·12345. */
  plate?: string;
  /**
   * A flickering flame or a spreading grey plume rendered into the picture (a few frames, looped);
   * walk: the picture, scaled to nine tenths of the frame height, slides left to right across a
   * grey backdrop in `WALK_FRAMES` frames (looped): a person crossing a line, walking through a zone.
   */
  effect?: 'fire' | 'smoke' | 'walk';
  /** The camera reports motion while this scene shows. */
  motion?: boolean;
  /** The camera reports tampering (lens covered, turned away) while this scene shows. */
  tamper?: boolean;
}

export interface TimelineStep {
  scene: string;
  seconds: number;
}

const DARKNET = '/usr/share/darknet/data';
/** Group photos (faces) from the @vladmandic/face-api package's demo folder. */
const FACES = path.join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo');
const EFFECT_FRAMES = 6;
export const WALK_FRAMES = 16;
const CJK_FONT = '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc';

/** Built-in scenes. Pictures come from Debian's `darknet` package (installed by the test setup). */
export const BUILTIN_SCENES: Record<string, SceneSpec> = {
  street: { color: '0x5a5f66', motion: false },
  people: { image: `${DARKNET}/person.jpg`, motion: true },
  faces: { image: path.join(FACES, 'sample1.jpg'), motion: true },
  crowd: { image: path.join(FACES, 'sample6.jpg'), motion: true },
  vehicles: { image: `${DARKNET}/dog.jpg`, motion: true },
  plate: { image: `${DARKNET}/dog.jpg`, plate: '京A·12345', motion: true },
  covered: { color: 'black', tamper: true, motion: false },
  fire: { color: '0x3a3f46', effect: 'fire', motion: true },
  smoke: { image: `${DARKNET}/person.jpg`, effect: 'smoke', motion: true },
  walk: { image: `${DARKNET}/person.jpg`, effect: 'walk', motion: true },
};

export interface RenderedScene {
  name: string;
  spec: SceneSpec;
  /** One picture, or a short loop (effects), shown in turn at the stream's rate. */
  files: string[];
  jpegs: Buffer[];
}

/**
 * Renders every scene as JPEGs of exactly width × height. Renders are cached for the process
 * (many simulated cameras share the same scenes), in one temporary folder removed at exit.
 */
export async function renderScenes(
  scenes: Record<string, SceneSpec>,
  width: number,
  height: number,
  ffmpeg = 'ffmpeg',
): Promise<Map<string, RenderedScene>> {
  const entries = Object.entries(scenes);
  for (const [name] of entries)
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) throw new Error(`scene name "${name}": use letters, digits, _ and - only`);
  const rendered = await Promise.all(
    entries.map(async ([name, spec]) => {
      const key = JSON.stringify([spec.image, spec.color, spec.plate, spec.effect, width, height]);
      let rendering = cache.get(key);
      if (!rendering) {
        rendering = render(spec, name, width, height, ffmpeg);
        cache.set(key, rendering);
        rendering.catch(() => cache.delete(key));
      }
      const { files, jpegs } = await rendering;
      return { name, spec, files, jpegs };
    }),
  );
  return new Map(rendered.map((r) => [r.name, r]));
}

const cache = new Map<string, Promise<{ files: string[]; jpegs: Buffer[] }>>();
let cacheDir: string | undefined;

async function render(
  spec: SceneSpec,
  name: string,
  width: number,
  height: number,
  ffmpeg: string,
): Promise<{ files: string[]; jpegs: Buffer[] }> {
  if (!cacheDir) {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'gridedge-scenes-'));
    const dir = cacheDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const dir = await mkdtemp(path.join(cacheDir, `${name}-`));
  const count = spec.effect === 'walk' ? WALK_FRAMES : spec.effect ? EFFECT_FRAMES : 1;
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `frame-${String(i + 1).padStart(2, '0')}.jpg`));
  await renderScene(spec, path.join(dir, 'frame-%02d.jpg'), count, width, height, ffmpeg, dir, name);
  return { files, jpegs: await Promise.all(files.map((f) => readFile(f))) };
}

/**
 * Effects as ffmpeg geq expressions over the picture, frame N of the loop: a flame (a noisy,
 * flickering teardrop, red → yellow at its core) and a smoke plume (grey, low saturation,
 * spreading frame by frame). ld(0) holds the effect's strength at the pixel. The flame is
 * centred at (cx, cy) (geq expressions of W and H), `size` times the default (a tenth of the
 * width wide, three tenths of the height tall).
 */
export function flameGeq(cx = 'W/2', cy = 'H*0.70', size = 1): string {
  const flame =
    `st(0,clip(1.25-hypot((X-${cx})/(W*${0.1 * size}),(Y-${cy})/(H*${0.3 * size}*(1+0.2*sin(N*2.3+X/9))))` +
    '+0.3*(random(1)-0.5),0,1));st(1,min(1,1.6*ld(0)))';
  return [
    `r='${flame};(1-ld(1))*r(X,Y)+ld(1)*255'`,
    `g='${flame};(1-ld(1))*g(X,Y)+ld(1)*(70+170*ld(0)*ld(0))'`,
    `b='${flame};(1-ld(1))*b(X,Y)+ld(1)*(20+60*pow(ld(0),3))'`,
  ].join(':');
}
const FIRE = flameGeq();
const plume = 'st(0,0.85*clip(1-hypot((X-W*0.55)/(W*(0.12+0.025*N)),(Y-H*0.40)/(H*(0.25+0.03*N)))+0.15*(random(1)-0.5),0,1))';
const SMOKE = [
  `r='${plume};(1-ld(0))*r(X,Y)+ld(0)*168'`,
  `g='${plume};(1-ld(0))*g(X,Y)+ld(0)*170'`,
  `b='${plume};(1-ld(0))*b(X,Y)+ld(0)*174'`,
].join(':');

async function renderScene(
  spec: SceneSpec,
  pattern: string,
  frames: number,
  width: number,
  height: number,
  ffmpeg: string,
  dir: string,
  name: string,
): Promise<void> {
  const input: string[] = [];
  const filters: string[] = [];
  if (spec.image && !existsSync(spec.image)) {
    const hint = spec.image.startsWith(DARKNET)
      ? ' (Debian package "darknet"; `npm test` installs it)'
      : spec.image.startsWith(FACES)
        ? ' (npm package @vladmandic/face-api; run npm install)'
        : '';
    throw new Error(`scene "${name}": picture ${spec.image} not found${hint}`);
  }
  if (spec.image && spec.effect === 'walk') {
    // The picture enters at the left edge (a third of it showing) and leaves at the right.
    input.push('-f', 'lavfi', '-i', `color=c=${spec.color ?? '0x5a5f66'}:s=${width}x${height}`, '-loop', '1', '-i', spec.image);
    const complex =
      `[1:v]scale=-2:${Math.round(height * 0.9)}[p];` +
      `[0:v][p]overlay=x='-w*0.66+(W+w*0.32)*n/${frames - 1}':y=H*0.05:eval=frame:shortest=0`;
    await ffmpegRun(ffmpeg, sceneArgs(input, frames, ['-filter_complex', complex], pattern), name);
    return;
  }
  if (spec.image) {
    input.push('-loop', '1', '-i', spec.image);
    filters.push(`scale=${width}:${height}:force_original_aspect_ratio=decrease`, `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`);
  } else {
    input.push('-f', 'lavfi', '-i', `color=c=${spec.color ?? 'gray'}:s=${width}x${height}`);
  }
  if (spec.plate) {
    if (!existsSync(CJK_FONT))
      throw new Error(`scene "${name}": drawing a plate needs the CJK font ${CJK_FONT} (Debian package fonts-wqy-zenhei)`);
    // A blue civil plate (440×140 mm) at a fifth of the frame width, low in the picture.
    const pw = Math.round(width / 5);
    const ph = Math.round((pw * 140) / 440);
    const textFile = path.join(dir, 'plate.txt');
    await writeFile(textFile, spec.plate);
    filters.push(
      `drawbox=x=(iw-${pw})/2:y=ih*0.78:w=${pw}:h=${ph}:color=0x0a3d9c@1:t=fill`,
      `drawtext=fontfile=${CJK_FONT}:textfile=${textFile}:fontcolor=white:fontsize=${Math.round(ph * 0.7)}` +
        `:x=(w-text_w)/2:y=h*0.78+(${ph}-text_h)/2`,
    );
  }
  if (spec.effect) filters.push('format=rgb24', `geq=${spec.effect === 'fire' ? FIRE : SMOKE}`);
  await ffmpegRun(ffmpeg, sceneArgs(input, frames, ['-vf', filters.join(',') || 'null'], pattern), name);
}

/** ffmpeg's arguments for `frames` JPEGs of a scene from its inputs and filter arguments. */
function sceneArgs(input: string[], frames: number, filter: string[], pattern: string): string[] {
  return ['-hide_banner', '-loglevel', 'error', '-y', ...input, '-frames:v', String(frames), ...filter, '-q:v', '3', pattern];
}

async function ffmpegRun(ffmpeg: string, args: string[], name: string): Promise<void> {
  try {
    await run(ffmpeg, args);
  } catch (err) {
    throw new Error(
      `scene "${name}": ffmpeg could not render it: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`,
    );
  }
}
