/**
 * What a simulated camera shows: scenes composed from real pictures (Debian's darknet sample
 * photos, any JPEG/PNG you name), optionally with a rendered Chinese licence plate, scaled to the
 * stream's size by ffmpeg. The same JPEG feeds the RTSP stream and the snapshot endpoint, so a
 * detector test knows exactly what the camera showed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SceneSpec {
  /** A picture file (JPEG, PNG); or a built-in scene name; or a plain colour for an empty view. */
  image?: string;
  color?: string;
  /** A licence plate drawn into the picture, e.g. 京A·12345. */
  plate?: string;
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
const CJK_FONT = '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc';

/** Built-in scenes. Pictures come from Debian's `darknet` package (installed by the test setup). */
export const BUILTIN_SCENES: Record<string, SceneSpec> = {
  street: { color: '0x5a5f66', motion: false },
  people: { image: `${DARKNET}/person.jpg`, motion: true },
  vehicles: { image: `${DARKNET}/dog.jpg`, motion: true },
  plate: { image: `${DARKNET}/dog.jpg`, plate: '京A·12345', motion: true },
  covered: { color: 'black', tamper: true, motion: false },
};

export interface RenderedScene {
  name: string;
  spec: SceneSpec;
  file: string;
  jpeg: Buffer;
}

/** Renders every scene once into `dir` as a JPEG of exactly width × height. */
export async function renderScenes(scenes: Record<string, SceneSpec>, dir: string, width: number, height: number, ffmpeg = 'ffmpeg'): Promise<Map<string, RenderedScene>> {
  const out = new Map<string, RenderedScene>();
  for (const [name, spec] of Object.entries(scenes)) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) throw new Error(`scene name "${name}": use letters, digits, _ and - only`);
    const file = path.join(dir, `scene-${name}.jpg`);
    await renderScene(spec, file, width, height, ffmpeg, dir, name);
    out.set(name, { name, spec, file, jpeg: await readFile(file) });
  }
  return out;
}

async function renderScene(spec: SceneSpec, file: string, width: number, height: number, ffmpeg: string, dir: string, name: string): Promise<void> {
  const input: string[] = [];
  const filters: string[] = [];
  if (spec.image) {
    if (!existsSync(spec.image)) {
      const hint = spec.image.startsWith(DARKNET) ? ' (Debian package "darknet"; `npm test` installs it)' : '';
      throw new Error(`scene "${name}": picture ${spec.image} not found${hint}`);
    }
    input.push('-i', spec.image);
    filters.push(`scale=${width}:${height}:force_original_aspect_ratio=decrease`, `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2`);
  } else {
    input.push('-f', 'lavfi', '-i', `color=c=${spec.color ?? 'gray'}:s=${width}x${height}`);
  }
  if (spec.plate) {
    if (!existsSync(CJK_FONT)) throw new Error(`scene "${name}": drawing a plate needs the CJK font ${CJK_FONT} (Debian package fonts-wqy-zenhei)`);
    // A blue civil plate (440×140 mm) at a fifth of the frame width, low in the picture.
    const pw = Math.round(width / 5);
    const ph = Math.round((pw * 140) / 440);
    const textFile = path.join(dir, `plate-${name}.txt`);
    await writeFile(textFile, spec.plate);
    filters.push(
      `drawbox=x=(iw-${pw})/2:y=ih*0.78:w=${pw}:h=${ph}:color=0x0a3d9c@1:t=fill`,
      `drawtext=fontfile=${CJK_FONT}:textfile=${textFile}:fontcolor=white:fontsize=${Math.round(ph * 0.7)}:x=(w-text_w)/2:y=h*0.78+(${ph}-text_h)/2`,
    );
  }
  const args = ['-hide_banner', '-loglevel', 'error', '-y', ...input, '-frames:v', '1', '-vf', filters.join(',') || 'null', '-q:v', '3', file];
  try {
    await run(ffmpeg, args);
  } catch (err) {
    throw new Error(`scene "${name}": ffmpeg could not render it: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}
