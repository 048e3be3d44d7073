/** Frames rendered by ffmpeg straight to raw RGB (one run, no JPEG to decode), as the camera stage hands them over. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RgbImage } from '../../detectors/types.js';

const run = promisify(execFile);

/** `frames` frames of `width` × `height` from ffmpeg `input` arguments through the filter chain `vf`. */
export async function renderFrames(input: string[], vf: string, frames: number, width = 640, height = 360): Promise<RgbImage[]> {
  const size = width * height * 3;
  const { stdout } = await run(
    'ffmpeg',
    ['-loglevel', 'error', ...input, '-frames:v', String(frames), '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: frames * size + 1024 * 1024 },
  );
  return Array.from({ length: Math.floor(stdout.length / size) }, (_, i) => ({
    width,
    height,
    data: new Uint8Array(stdout.buffer, stdout.byteOffset + i * size, size),
  }));
}
