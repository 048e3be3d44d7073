/**
 * Writes the README's generated parts from the code, so they cannot drift: the incident category
 * table (every declared category with its severity, times, lane and declaring owner).
 * `npm run docs`; a test fails when the README differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CATEGORY_DECLARATIONS } from '../gateway/incidents/categories.js';

const minutes = (m: number) => (m % (24 * 60) === 0 ? `${m / 60 / 24} d` : m % 60 === 0 ? `${m / 60} h` : `${m} min`);

export function categoryTable(): string {
  const rows = CATEGORY_DECLARATIONS.flatMap(({ owner, categories }) =>
    Object.entries(categories).map(([code, c]) => {
      const times = `${minutes(c.ackWithinMinutes)} | ${minutes(c.deadlineMinutes)}`;
      return `| \`${code}\` | ${c.severity} | ${times} | ${c.lane} | ${owner} | ${c.description} |`;
    }),
  );
  return [
    '| category | severity | acknowledge within | deadline | lane | declared by | meaning |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

const START = '<!-- categories:start (npm run docs writes this table) -->';
const END = '<!-- categories:end -->';

/** The README with its generated parts written anew. */
export function renderReadme(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} section`);
  return `${readme.slice(0, a + START.length)}\n${categoryTable()}\n${readme.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('../README.md', import.meta.url);
  writeFileSync(file, renderReadme(readFileSync(file, 'utf8')));
  console.log('wrote the category table in README.md');
}
