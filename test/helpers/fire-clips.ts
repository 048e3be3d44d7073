/**
 * Short clips (raw RGB frame sequences, 640 × 360, as a camera at 2 fps delivers them) for the fire
 * detector's tests: flames, and the things a site has that look like fire in one frame — a
 * blinking warning light in front of a yellow wall, a rotating beacon, brake lights, headlights,
 * a sunset, a flickering fluorescent light. Rendered with ffmpeg's geq (N is the frame number).
 */
import type { RgbImage } from '../../detectors/types.js';
import { renderFrames } from './raw-frames.js';
import { flameGeq } from '../../sim/camera/scenes.js';
const DARKNET = '/usr/share/darknet/data';

export interface Clip {
  name: string;
  /** Whether it shows flames. */
  fire: boolean;
  /** ffmpeg input arguments (a colour source or a looped picture). */
  input: string[];
  /** The filter chain, with N the frame number. */
  filter: string;
  frames: number;
  /** Rendered at 640 × 360 (flames: their flicker is fine-grained noise); else at half size and scaled up. */
  full?: boolean;
}

/** A lamp: a disk at (cx, cy) radius r (pixels), `on` a geq expression of N (0 or 1), colour (R, G, B). */
const lamp = (cx: number, cy: number, r: number, on: string, [R, G, B]: [number, number, number]) => {
  const k = `st(0,(${on})*clip(1.2-hypot(2*X-${cx},2*Y-${cy})/${r},0,1))`;
  return [`r='${k};(1-ld(0))*r(X,Y)+ld(0)*${R}'`, `g='${k};(1-ld(0))*g(X,Y)+ld(0)*${G}'`, `b='${k};(1-ld(0))*b(X,Y)+ld(0)*${B}'`].join(':');
};

// Rendered at half size (geq is slow), then scaled to 640 × 360; positions are given in 640 × 360.
const colour = (c: string) => ['-f', 'lavfi', '-i', `color=c=${c}:s=320x180`];
const picture = (file: string) => ['-loop', '1', '-i', file];
const colourFull = (c: string) => ['-f', 'lavfi', '-i', `color=c=${c}:s=640x360`];
const fitFull = 'scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,format=rgb24';
const fit = 'scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2,format=rgb24';

export const CLIPS: Clip[] = [
  { name: 'flame (street)', fire: true, full: true, input: colourFull('0x3a3f46'), filter: `format=rgb24,geq=${flameGeq()}`, frames: 8 },
  {
    name: 'small flame by a person',
    fire: true,
    full: true,
    input: picture(`${DARKNET}/person.jpg`),
    filter: `${fitFull},geq=${flameGeq('W*0.78', 'H*0.72', 0.6)}`,
    frames: 8,
  },
  {
    name: 'flame before a yellow wall',
    fire: true,
    full: true,
    input: colourFull('0xc9a43a'),
    filter: `format=rgb24,geq=${flameGeq('W*0.35', 'H*0.65', 0.8)}`,
    frames: 8,
  },
  // The issue's case: an orange warning light blinking in front of a yellow wall.
  {
    name: 'blinking orange light, yellow wall',
    fire: false,
    input: colour('0xc9a43a'),
    filter: `format=rgb24,geq=${lamp(320, 170, 45, 'lt(mod(N,2),1)', [255, 120, 10])}`,
    frames: 8,
  },
  {
    name: 'amber lamp with a glow blinking irregularly, yellow wall',
    fire: false,
    input: colour('0xd2b048'),
    filter: `format=rgb24,geq=${lamp(300, 160, 70, 'lt(mod(N*5,7),4)', [255, 150, 20])}`,
    frames: 8,
  },
  {
    name: 'warning light, on two frames off one',
    fire: false,
    input: colour('0x4a4f56'),
    filter: `format=rgb24,geq=${lamp(200, 150, 35, 'lt(mod(N,3),2)', [255, 110, 0])}`,
    frames: 8,
  },
  {
    name: 'rotating beacon',
    fire: false,
    input: colour('0x3a3f46'),
    // A dome lit by a lobe sweeping round: each pixel's brightness follows the lobe's angle.
    filter:
      'format=rgb24,geq=' +
      [
        "r='st(0,lt(hypot(2*X-320,(2*Y-180)*1.6),50)*(0.35+0.65*pow(max(0,cos((2*X-320)/25-N*1.9)),2)));(1-gt(ld(0),0))*r(X,Y)+ld(0)*255'",
        "g='st(0,lt(hypot(2*X-320,(2*Y-180)*1.6),50)*(0.35+0.65*pow(max(0,cos((2*X-320)/25-N*1.9)),2)));(1-gt(ld(0),0))*g(X,Y)+ld(0)*130'",
        "b='st(0,lt(hypot(2*X-320,(2*Y-180)*1.6),50)*(0.35+0.65*pow(max(0,cos((2*X-320)/25-N*1.9)),2)));(1-gt(ld(0),0))*b(X,Y)+ld(0)*10'",
      ].join(':'),
    frames: 8,
  },
  {
    name: 'brake lights',
    fire: false,
    input: colour('0x2a2d33'),
    filter:
      'format=rgb24,' +
      `geq=${lamp(220, 220, 28, 'lt(mod(N,5),3)', [235, 40, 20])},` +
      `geq=${lamp(420, 220, 28, 'lt(mod(N,5),3)', [235, 40, 20])}`,
    frames: 8,
  },
  {
    name: 'headlights coming closer',
    fire: false,
    input: colour('0x1e2024'),
    filter:
      'format=rgb24,' +
      `geq=${lamp(260, 200, 20, '1', [255, 236, 190])},` +
      `geq=${lamp(380, 200, 20, '1', [255, 236, 190])},scale=iw*1.02:-2,crop=320:180`,
    frames: 8,
  },
  {
    name: 'sunset',
    fire: false,
    input: colour('0x000000'),
    // An orange sky over a dark skyline, slowly dimming.
    filter:
      "format=rgb24,geq=r='if(lt(Y,H*0.7),(250-30*Y/H)*(1-0.03*N),30)':" +
      "g='if(lt(Y,H*0.7),(150-80*Y/H)*(1-0.03*N),30)':b='if(lt(Y,H*0.7),(40+10*Y/H)*(1-0.03*N),35)'",
    frames: 8,
  },
  {
    name: 'flickering fluorescent light',
    fire: false,
    input: picture(`${DARKNET}/person.jpg`),
    // The whole picture 15 % darker on an irregular beat.
    filter: `${fit},geq=${['r', 'g', 'b'].map((c) => `${c}='${c}(X,Y)*(0.85+0.15*lt(mod(N*7,5),2))'`).join(':')}`,
    frames: 8,
  },
];

/** Renders a clip's frames as raw RGB, as the camera stage hands frames over (one ffmpeg run, no per-frame decode). */
export function renderClip(clip: Clip): Promise<RgbImage[]> {
  return renderFrames(clip.input, clip.full ? clip.filter : `${clip.filter},scale=640:360`, clip.frames);
}
