/** Real photos with faces (the @vladmandic/face-api demo pictures) served as a camera's snapshot URL. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { PACKAGE_ROOT } from '../../core/package.js';

export const PHOTOS = ['sample1', 'sample2', 'sample3', 'sample6'].map((n) =>
  readFileSync(path.join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', `${n}.jpg`)),
);

/** A camera's snapshot URL: a different real photo (and size) on every request. */
export async function photoServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((_req, res) => {
    const i = n++;
    void sharp(PHOTOS[i % PHOTOS.length])
      .resize(800 + 16 * (i % 20))
      .jpeg({ quality: 80 })
      .toBuffer()
      .then((jpeg) => {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.length });
        res.end(jpeg);
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/snapshot.jpg`,
    requests: () => n,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
