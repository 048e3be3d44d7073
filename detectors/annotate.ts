/**
 * A frame with its detections drawn (boxes, labels, plate readings), as JPEG: what the console
 * shows and what a field engineer checks a camera's aim and zones against. Drawn by ffmpeg's
 * drawbox/drawtext filters, with a CJK font when one is installed (plate readings are Chinese).
 */
import { existsSync } from 'node:fs';
import { encodeJpeg } from './image.js';
import type { Detection, RgbImage } from './types.js';

const FONTS = ['/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'];
const COLORS: Record<string, string> = { face: 'yellow', plate: 'cyan', person: 'lime', fire: 'red', smoke: 'white' };
const color = (label: string) => COLORS[label] ?? 'orange';

/** Label text safe inside a filter graph: letters, digits, CJK, spaces and dots only. */
function caption(d: Detection): string {
  const text = [d.label, d.text, d.score.toFixed(2)].filter(Boolean).join(' ');
  return text.replace(/[^\p{L}\p{N} .]/gu, '');
}

export function annotationFilter(image: RgbImage, detections: Detection[], font = FONTS.find((f) => existsSync(f))): string {
  const parts: string[] = [];
  for (const d of detections) {
    const x = Math.max(0, Math.round(d.box.x));
    const y = Math.max(0, Math.round(d.box.y));
    const w = Math.max(1, Math.min(image.width - x, Math.round(d.box.w)));
    const h = Math.max(1, Math.min(image.height - y, Math.round(d.box.h)));
    parts.push(`drawbox=x=${x}:y=${y}:w=${w}:h=${h}:color=${color(d.label)}@0.9:t=2`);
    if (font)
      parts.push(
        `drawtext=fontfile=${font}:text='${caption(d)}':x=${x + 2}:y=${Math.max(0, y - 16)}` +
          `:fontsize=14:fontcolor=${color(d.label)}:box=1:boxcolor=black@0.6`,
      );
  }
  return parts.join(',') || 'null';
}

export function annotate(image: RgbImage, detections: Detection[], ffmpeg = 'ffmpeg'): Promise<Buffer> {
  return encodeJpeg(image, 4, ffmpeg, annotationFilter(image, detections));
}
