#!/usr/bin/env node
// onnxruntime-node ships its native libraries for every platform (about 220 MB for macOS and
// Windows); a gateway needs only its own. Removes the others from node_modules, after an install.
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
const keep = process.platform;
let freed = 0;
for (const platform of readdirSync(root)) {
  if (platform === keep) continue;
  const dir = path.join(root, platform);
  const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((n, f) => n + size(path.join(p, f)), 0) : statSync(p).size);
  freed += size(dir);
  rmSync(dir, { recursive: true, force: true });
  console.log(`removed ${dir}`);
}
console.log(`freed ${Math.round(freed / 2 ** 20)} MiB (kept ${path.join(root, keep)})`);
