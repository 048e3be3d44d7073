#!/usr/bin/env node
// Biome wraps code at 140 columns but leaves long strings and comments alone; this catches those,
// in every tracked source file (TypeScript, JavaScript, Python, shell).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 140;
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs', '*.js', '*.py', '*.sh'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('models/'));
const long = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // Characters, not UTF-16 units: a line of Chinese is as wide as it looks to the reader.
      const width = [...line].length;
      if (width > MAX) long.push(`${file}:${i + 1}: ${width} characters`);
    });
}
if (long.length) {
  console.error(`lines longer than ${MAX} characters (break the string or the comment):\n${long.join('\n')}`);
  process.exit(1);
}
console.log(`line width: ${files.length} files, none over ${MAX} characters`);
