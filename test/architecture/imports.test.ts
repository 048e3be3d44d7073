import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf, layeringViolations, readSources, staticClosure } from '../helpers/imports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const sources = readSources(ROOT, tracked);

describe('the layering of the source tree', () => {
  it('has no import that runs upward (core ← contracts ← devices, broker, detectors, sim ← gateway)', () => {
    expect(layeringViolations(sources)).toEqual([]);
  });

  it('finds an upward import when one is added, static or dynamic, on one line or several', () => {
    const planted = new Map(sources);
    planted.set('devices/planted.ts', "import { Gateway } from '../gateway/gateway.js';\n");
    planted.set('core/planted.ts', "import {\n  DeviceBroker,\n} from '../broker/broker.js';\n");
    planted.set('sim/planted.ts', "const g = await import('../gateway/gateway.js');\n");
    planted.set('contracts/planted.ts', "export { deviceKinds } from '../devices/registry.js';\n");
    expect(layeringViolations(planted)).toEqual([
      'devices/planted.ts:1 imports gateway/gateway.ts (devices/ may import only core, contracts, devices)',
      'core/planted.ts:3 imports broker/broker.ts (core/ may import only core)',
      'sim/planted.ts:1 imports gateway/gateway.ts (sim/ may import only core, contracts, devices, sim)',
      'contracts/planted.ts:1 imports devices/registry.ts (contracts/ may import only core, contracts)',
    ]);
  });

  it('reads type-only, re-exported and side-effect imports', () => {
    const edges = importsOf(
      'gateway/x.ts',
      "import type { A } from './a.js';\nexport * from '../core/b.js';\nimport './c.js';\nimport {\n  d,\n  e,\n} from " +
        "'../devices/d.js';\n",
    );
    expect(edges.map((e) => e.to)).toEqual(['gateway/a.ts', 'core/b.ts', 'gateway/c.ts', 'devices/d.ts']);
  });

  it('keeps the simulator out of the shipped CLI except behind the demo and sim commands (loaded on demand)', () => {
    const reached = [...staticClosure('gateway/cli/main.ts', sources)];
    expect(reached.length).toBeGreaterThan(20);
    expect(reached.filter((f) => f.startsWith('sim/'))).toEqual([]);
  });
});
