/**
 * Chinese plates rendered with ffmpeg for the detector tests, laid out as GA 36-2018 draws them:
 * one row (440 × 140 mm; seven characters 45 mm wide with a dot after the second, eight for
 * new-energy plates) or two rows (440 × 220 mm; the province character and letter in a short top
 * row, the serial in a tall bottom row), 1 px per mm. Chinese characters in WenQuanYi Zen Hei;
 * letters and digits in the face asked for, so a test can read the same plate in more than one
 * font. Variants: warped (seen from the side), blurred, small (far from the camera); each is
 * placed on a grey 640 × 360 frame, as a camera would show it.
 */
import type { RgbImage } from '../../detectors/types.js';
import { renderFrames } from './raw-frames.js';

export const CJK_FONT = '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc';
export const LATIN_FONTS = {
  zenhei: CJK_FONT,
  dejavu: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  mono: '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf',
} as const;

export type Variant = 'clean' | 'warped' | 'blurred' | 'small';

export interface PlateSpec {
  /** The characters, no separator: 京A12345, 京A1234挂, 使014578. */
  text: string;
  rows: 1 | 2;
  background: string;
  ink: string;
}

const isCjk = (c: string) => /[\u4e00-\u9fff]/u.test(c);

/** The drawtext filters that place each character in its slot. */
function glyphs(spec: PlateSpec, latin: string): string[] {
  const chars = [...spec.text];
  const out: string[] = [];
  const draw = (c: string, x: number, y: number, w: number, h: number) => {
    const font = isCjk(c) ? CJK_FONT : latin;
    const size = Math.round(h * (isCjk(c) ? 0.95 : 1.2));
    const text = c.replace(/[\\':]/g, (m) => `\\${m}`);
    out.push(
      `drawtext=fontfile=${font}:text='${text}':fontcolor=${spec.ink}:fontsize=${size}` + `:x=${x}+(${w}-text_w)/2:y=${y}+(${h}-text_h)/2`,
    );
  };
  if (spec.rows === 1) {
    // A leading 使 or 民航 takes the first slot(s) like a province character does; 应急 two slots.
    const n = chars.length;
    const slot = n >= 9 ? 38 : n >= 8 ? 43 : 45;
    const gap = n >= 9 ? 8 : n >= 8 ? 9 : 12;
    let x = (440 - (n * slot + (n - 1) * gap + 22)) / 2;
    chars.forEach((c, i) => {
      // 应急 closes the plate in two smaller characters.
      const closing = i >= n - 2 && /应急$/u.test(spec.text);
      draw(c, Math.round(x), closing ? 40 : 25, slot, closing ? 60 : 90);
      x += slot + gap + (i === 1 ? 22 : 0);
    });
  } else {
    const [a, b, ...rest] = chars;
    draw(a!, 130, 15, 80, 60);
    draw(b!, 230, 15, 80, 60);
    const slot = 65;
    const gap = 15;
    let x = (440 - (rest.length * slot + (rest.length - 1) * gap)) / 2;
    for (const c of rest) {
      draw(c, Math.round(x), 90, slot, 110);
      x += slot + gap;
    }
  }
  return out;
}

const VARIANTS: Record<Variant, string[]> = {
  clean: [],
  // Seen from the left and a little below: the far side shorter, as a gate camera sees a car turning in.
  warped: ['pad=iw+40:ih+40:20:20:color=0x606060', 'perspective=x0=0:y0=0:x1=W:y1=H*0.12:x2=0:y2=H:x3=W:y3=H*0.88:sense=destination'],
  blurred: ['gblur=sigma=2'],
  small: ['scale=iw*0.42:-2'],
};

/** Renders one plate in one variant, on its 640 × 360 frame, as raw RGB (one ffmpeg run, no decode). */
export async function renderPlate(spec: PlateSpec, variant: Variant = 'clean', latin: string = CJK_FONT): Promise<RgbImage> {
  const height = spec.rows === 1 ? 140 : 220;
  const filters = [...glyphs(spec, latin), ...VARIANTS[variant], 'pad=640:360:(ow-iw)/2:(oh-ih)/2:color=0x606060'];
  const [frame] = await renderFrames(['-f', 'lavfi', '-i', `color=c=${spec.background}:s=440x${height}`], filters.join(','), 1);
  return frame!;
}
