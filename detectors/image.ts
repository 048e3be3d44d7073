/**
 * Pictures in and out of the detectors: decode any file ffmpeg reads to RGB, and sample a
 * region of an RGB image into a model's input tensor (bilinear, one pass, no intermediate copy).
 */
import { execFile } from 'node:child_process';
import type { Box, RgbImage } from './types.js';

/** Decodes a picture (JPEG, PNG, BMP, a video's first frame) to rgb24 with ffmpeg, through PPM. */
export function decodeImage(input: string | Buffer, ffmpeg = 'ffmpeg'): Promise<RgbImage> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ffmpeg,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        typeof input === 'string' ? input : 'pipe:0',
        '-frames:v',
        '1',
        '-f',
        'image2pipe',
        '-vcodec',
        'ppm',
        'pipe:1',
      ],
      { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          return reject(
            new Error(`cannot decode ${typeof input === 'string' ? input : 'the picture'}: ${stderr.toString().trim() || err.message}`),
          );
        try {
          resolve(parsePpm(stdout));
        } catch (e) {
          reject(e as Error);
        }
      },
    );
    if (typeof input !== 'string') {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

function parsePpm(buf: Buffer): RgbImage {
  // P6\n<w> <h>\n<max>\n<data>
  let pos = 0;
  const token = (): string => {
    while (/\s/.test(String.fromCharCode(buf[pos]!))) pos++;
    const start = pos;
    while (!/\s/.test(String.fromCharCode(buf[pos]!))) pos++;
    return buf.toString('latin1', start, pos);
  };
  if (token() !== 'P6') throw new Error('decoder did not give a PPM');
  const width = Number(token());
  const height = Number(token());
  const max = Number(token());
  pos++;
  if (max !== 255) throw new Error(`16-bit PPM not supported (max ${max})`);
  const data = buf.subarray(pos, pos + width * height * 3);
  if (data.length !== width * height * 3) throw new Error('truncated picture');
  return { width, height, data };
}

export interface SampleOptions {
  /** Output layout: NHWC (TensorFlow-style models) or NCHW (Paddle, PyTorch). */
  layout: 'nhwc' | 'nchw';
  /** Channel order of the model's input. */
  order: 'rgb' | 'bgr';
  /** value = (pixel / 255 - mean[c]) / std[c] */
  mean: [number, number, number];
  std: [number, number, number];
  /** Value for the parts of the output outside the region (letterbox padding), before normalising. */
  pad?: number;
}

/**
 * Samples `region` of `image` into an outW × outH tensor. With `keepAspect`, the region is scaled
 * to fit and the rest padded (letterbox); returns the scale and offset to map boxes back.
 */
export function sample(
  image: RgbImage,
  region: Box,
  outW: number,
  outH: number,
  opts: SampleOptions,
  keepAspect = true,
  target?: Float32Array,
  targetOffset = 0,
): { tensor: Float32Array; scale: number; dx: number; dy: number } {
  const tensor = target ?? new Float32Array(outW * outH * 3);
  const sx = outW / region.w;
  const sy = outH / region.h;
  const scale = keepAspect ? Math.min(sx, sy) : 1;
  const scaleX = keepAspect ? scale : sx;
  const scaleY = keepAspect ? scale : sy;
  const dx = keepAspect ? (outW - region.w * scale) / 2 : 0;
  const dy = keepAspect ? (outH - region.h * scale) / 2 : 0;
  const { width, height } = image;
  // A plain Uint8Array view: Buffers and Uint8Arrays mixed at one access site slow the loop down.
  const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  // value = px · k[c] + b[c], in the model's channel order; src[c] is the RGB channel it reads.
  const src = opts.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const k = [0, 1, 2].map((c) => 1 / (255 * opts.std[c]!));
  const b = [0, 1, 2].map((c) => -opts.mean[c]! / opts.std[c]!);
  const pad = [0, 1, 2].map((c) => (opts.pad ?? 0) * k[c]! + b[c]!);
  const [s0, s1, s2] = src as [number, number, number];
  const [k0, k1, k2] = k as [number, number, number];
  const [b0, b1, b2] = b as [number, number, number];
  const [pad0, pad1, pad2] = pad as [number, number, number];
  // Per output column, once: the two source columns (as byte offsets) and the weight between them.
  const colA = new Int32Array(outW);
  const colB = new Int32Array(outW);
  const colW = new Float32Array(outW);
  const colIn = new Uint8Array(outW);
  for (let ox = 0; ox < outW; ox++) {
    const fx = region.x + (ox + 0.5 - dx) / scaleX - 0.5;
    colIn[ox] = Number(fx >= region.x - 0.5 && fx <= region.x + region.w - 0.5);
    const x0 = Math.max(0, Math.min(width - 1, Math.floor(fx)));
    colA[ox] = x0 * 3;
    colB[ox] = Math.min(width - 1, x0 + 1) * 3;
    colW[ox] = Math.max(0, Math.min(1, fx - x0));
  }
  const plane = outW * outH;
  const nhwc = opts.layout === 'nhwc';
  for (let oy = 0; oy < outH; oy++) {
    const fy = region.y + (oy + 0.5 - dy) / scaleY - 0.5;
    const rowIn = fy >= region.y - 0.5 && fy <= region.y + region.h - 0.5;
    const y0 = Math.max(0, Math.min(height - 1, Math.floor(fy)));
    const r0 = y0 * width * 3;
    const r1 = Math.min(height - 1, y0 + 1) * width * 3;
    const ay = Math.max(0, Math.min(1, fy - y0));
    const step = nhwc ? 1 : plane;
    let i = nhwc ? targetOffset + oy * outW * 3 : targetOffset + oy * outW;
    const advance = nhwc ? 3 : 1;
    if (!rowIn) {
      for (let ox = 0; ox < outW; ox++, i += advance) {
        tensor[i] = pad0;
        tensor[i + step] = pad1;
        tensor[i + 2 * step] = pad2;
      }
      continue;
    }
    const iy = 1 - ay;
    for (let ox = 0; ox < outW; ox++, i += advance) {
      if (colIn[ox] === 0) {
        tensor[i] = pad0;
        tensor[i + step] = pad1;
        tensor[i + 2 * step] = pad2;
        continue;
      }
      const a = colA[ox]!,
        c = colB[ox]!,
        ax = colW[ox]!,
        ix = 1 - ax;
      const w00 = ix * iy,
        w01 = ax * iy,
        w10 = ix * ay,
        w11 = ax * ay;
      const p00 = r0 + a,
        p01 = r0 + c,
        p10 = r1 + a,
        p11 = r1 + c;
      tensor[i] = (data[p00 + s0]! * w00 + data[p01 + s0]! * w01 + data[p10 + s0]! * w10 + data[p11 + s0]! * w11) * k0 + b0;
      tensor[i + step] = (data[p00 + s1]! * w00 + data[p01 + s1]! * w01 + data[p10 + s1]! * w10 + data[p11 + s1]! * w11) * k1 + b1;
      tensor[i + 2 * step] = (data[p00 + s2]! * w00 + data[p01 + s2]! * w01 + data[p10 + s2]! * w10 + data[p11 + s2]! * w11) * k2 + b2;
    }
  }
  return { tensor, scale, dx, dy };
}

/** Crops a region into a new RGB image (for evidence and for second-stage models). */
export function crop(image: RgbImage, box: Box): RgbImage {
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  const w = Math.max(1, Math.min(image.width - x, Math.ceil(box.w)));
  const h = Math.max(1, Math.min(image.height - y, Math.ceil(box.h)));
  const data = new Uint8Array(w * h * 3);
  for (let row = 0; row < h; row++)
    data.set(image.data.subarray(((y + row) * image.width + x) * 3, ((y + row) * image.width + x + w) * 3), row * w * 3);
  return { width: w, height: h, data };
}

/** Encodes an RGB image as JPEG with ffmpeg, through an optional filter graph (drawn boxes, say). */
export function encodeJpeg(image: RgbImage, quality = 4, ffmpeg = 'ffmpeg', filter = 'null'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ffmpeg,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${image.width}x${image.height}`,
        '-i',
        'pipe:0',
        '-vf',
        filter,
        '-frames:v',
        '1',
        '-q:v',
        String(quality),
        '-f',
        'image2pipe',
        '-vcodec',
        'mjpeg',
        'pipe:1',
      ],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`cannot encode JPEG: ${stderr.toString().trim() || err.message}`)) : resolve(stdout),
    );
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(image.data);
  });
}
