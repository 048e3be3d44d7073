import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package's folder and version, found by walking up from this file (works from source and from dist/). */
function findPackage(): { root: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gridedge' && pkg.version) return { root: dir, version: pkg.version };
    } catch {
      // not here; look one folder up
    }
    dir = path.dirname(dir);
  }
  return { root: process.cwd(), version: '0.0.0' };
}

const found = findPackage();
export const VERSION = found.version;
/** Where files that are not compiled (the console page) are found, from source and from dist/ alike. */
export const PACKAGE_ROOT = found.root;
