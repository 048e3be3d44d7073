#!/usr/bin/env node
// Runs after `npm install` / `npm ci`: builds dist/ with TypeScript when it is installed (a
// development install), then finds or converts the detector models (`gridedge models`). A
// production install (`npm ci --omit=dev`, no TypeScript) uses the dist/ that is already there:
// a release tarball ships it, a git checkout gets it from one build before pruning.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  tsc = undefined;
}
if (tsc) run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
else if (!existsSync('dist/gateway/cli/main.js')) {
  console.error(
    'gridedge: no TypeScript (a production install) and no built dist/.\n' +
      '  From a git checkout: npm ci && npm run build && npm prune --omit=dev\n' +
      '  Or install a release tarball, which ships dist/: npm install --omit=dev ./gridedge-<version>.tgz',
  );
  process.exit(1);
} else console.log('gridedge: production install, using the dist/ already built');
run(process.execPath, ['dist/gateway/cli/main.js', 'models']);
