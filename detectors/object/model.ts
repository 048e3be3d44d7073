/**
 * The people-and-vehicles model: @vladmandic/human's COCO CenterNet (MobileNetV3), which ships
 * only as a tfjs graph, converted to ONNX by our own converter. Done by `npm run models` at
 * install (the `prepare` script) and, if the file is missing or was made from another source,
 * on first use: about a second, offline.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/package.js';
import { TFJS_MODELS } from '../models.js';
import { convertTfjsFile } from './tfjs-to-onnx.js';

/** Bump when the converter's output changes, so older conversions are redone. */
const CONVERTER_VERSION = 1;
export const CENTERNET_OUTPUTS = ['tower_0/keypoints', 'tower_0/wh'];
export const CENTERNET_INPUT = 'tower_0/images';

/** Where converted models go: GRIDEDGE_MODEL_DIR, else models/generated in the package, else the user's cache. */
export function modelDir(): string {
  if (process.env.GRIDEDGE_MODEL_DIR) return process.env.GRIDEDGE_MODEL_DIR;
  return path.join(PACKAGE_ROOT, 'models', 'generated');
}

const pending = new Map<string, Promise<string>>();

/** The converted CenterNet's path, converting first when needed. */
export function objectModel(log: (line: string) => void = () => {}): Promise<string> {
  const dir = modelDir();
  let p = pending.get(dir);
  if (!p) {
    p = prepare(dir, log).catch(async (err: unknown) => {
      if (process.env.GRIDEDGE_MODEL_DIR || !isPermission(err)) throw err;
      // A read-only install (global npm, a container image): convert into the user's cache instead.
      return prepare(path.join(os.homedir(), '.cache', 'gridedge', 'models'), log);
    });
    pending.set(dir, p);
    p.catch(() => pending.delete(dir));
  }
  return p;
}

async function prepare(dir: string, log: (line: string) => void): Promise<string> {
  const source = TFJS_MODELS.centernet();
  const stamp = `${CONVERTER_VERSION}:${createHash('sha256')
    .update(await readFile(source))
    .digest('hex')}`;
  const file = path.join(dir, 'centernet-coco.onnx');
  const stampFile = `${file}.source`;
  if (existsSync(file) && existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return file;
  log(`converting the people-and-vehicles model (tfjs CenterNet → ONNX) into ${dir}`);
  await mkdir(dir, { recursive: true });
  const bytes = await convertTfjsFile(source, { outputs: CENTERNET_OUTPUTS });
  // Written aside and renamed: a gateway starting meanwhile never loads half a model.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  await writeFile(stampFile, stamp);
  return file;
}

function isPermission(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}
