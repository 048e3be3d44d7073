/**
 * The import graph of the source tree, and the layering rule it must keep:
 * `core` ← `contracts` ← `devices`, `broker`, `detectors`, `sim` ← `gateway`. Tests are free to
 * import anything; shipped code is not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Which top-level folders each folder's shipped code may import from (its own included). */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  core: ['core'],
  contracts: ['core', 'contracts'],
  detectors: ['core', 'contracts', 'detectors'],
  devices: ['core', 'contracts', 'devices'],
  // The broker derives each device's ACL from its kind's declared topics.
  broker: ['core', 'contracts', 'devices', 'broker'],
  // The simulator speaks the contracts and a device module's wire helpers (WS-Discovery), never the gateway.
  sim: ['core', 'contracts', 'devices', 'sim'],
  gateway: ['core', 'contracts', 'devices', 'broker', 'detectors', 'sim', 'gateway'],
};

export interface ImportEdge {
  from: string;
  to: string;
  /** `import()` at run time, not a static import. */
  dynamic: boolean;
  line: number;
}

// A statement runs to its semicolon, so one that spans several lines is read whole.
const STATIC = /(?:^|\n)[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const SIDE_EFFECT = /(?:^|\n)[ \t]*import\s*['"](\.{1,2}\/[^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Relative imports of one file, resolved to repository paths (`.js` specifiers name `.ts` sources), in file order. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const resolve = (spec: string) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
  const found: Array<ImportEdge & { at: number }> = [];
  for (const [re, dynamic] of [
    [STATIC, false],
    [SIDE_EFFECT, false],
    [DYNAMIC, true],
  ] as const) {
    for (const m of text.matchAll(re)) {
      const at = m.index + m[0].lastIndexOf(m[1]!);
      found.push({ from: file, to: resolve(m[1]!), dynamic, line: text.slice(0, at).split('\n').length, at });
    }
  }
  return found.sort((x, y) => x.at - y.at).map(({ at: _, ...e }) => e);
}

const layerOf = (file: string) => file.split('/')[0]!;
const isTest = (file: string) => /\.test\.ts$/.test(file) || file.startsWith('test/');

/** Every import of shipped code that breaks the layering, as `file:line imports target (folder may not)`. */
export function layeringViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const allowed = LAYERS[layerOf(file)];
    if (!allowed || isTest(file)) continue;
    for (const e of importsOf(file, text)) {
      const target = layerOf(e.to);
      if (!allowed.includes(target))
        out.push(`${file}:${e.line} imports ${e.to} (${layerOf(file)}/ may import only ${allowed.join(', ')})`);
    }
  }
  return out;
}

/** Files reached from `entry` through static imports only. */
export function staticClosure(entry: string, files: ReadonlyMap<string, string>): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f) || !files.has(f)) continue;
    seen.add(f);
    for (const e of importsOf(f, files.get(f)!)) if (!e.dynamic) todo.push(e.to);
  }
  return seen;
}

/** Reads the given repository files. */
export function readSources(root: string, list: string[]): Map<string, string> {
  return new Map(list.map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));
}
