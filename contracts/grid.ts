/**
 * Grid codes: 15 digits = 6-digit administrative division (GB/T 2260) + 3 street/town
 * + 3 community + 3 cell. The division must be a real county-level one (divisions.json, from
 * the National Bureau of Statistics' codes): a typo is worth catching at start-up rather than
 * at the command centre. The same table names the province, city, district and street.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { PACKAGE_ROOT } from '../core/package.js';

export const GRID_CODE_DESCRIPTION =
  '15-digit grid code: 6-digit GB/T 2260 division + 3 street/town + 3 community + 3 cell, as a quoted string';
/** A grid code in a schema (config, scenario files, API bodies): the shape only; `gridCodeProblem` checks the division. */
export const GridCode = Type.String({ pattern: '^[0-9]{15}$', description: GRID_CODE_DESCRIPTION });

interface Divisions {
  source: string;
  provinces: Record<string, string>;
  cities: Record<string, string>;
  counties: Record<string, string>;
  streets: Record<string, string>;
}

/** Taiwan, Hong Kong and Macao have GB/T 2260 province codes but no county codes in the table. */
const OUTSIDE_TABLE: Record<string, string> = { '71': '台湾省', '81': '香港特别行政区', '82': '澳门特别行政区' };

let divisions: Divisions | undefined;
function table(): Divisions {
  // From the package's folder, not this file's: dist/ has no copy of the data.
  divisions ??= JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'contracts', 'divisions.json'), 'utf8')) as Divisions;
  return divisions;
}

export interface GridCodeParts {
  division: string;
  street: string;
  community: string;
  cell: string;
}

/** Returns a reason the code is wrong, or undefined when it names a real division. */
export function gridCodeProblem(code: string): string | undefined {
  if (!/^[0-9]{15}$/.test(code)) return 'a grid code is exactly 15 digits';
  const t = table();
  const province = code.slice(0, 2);
  if (OUTSIDE_TABLE[province]) return undefined;
  if (!t.provinces[province]) return `its first two digits (${province}) are not a GB/T 2260 province code`;
  const county = code.slice(0, 6);
  if (!t.counties[county]) {
    const city = t.cities[code.slice(0, 4)];
    const where = city && city !== '市辖区' ? `${t.provinces[province]} ${city}` : t.provinces[province];
    return `its first six digits (${county}) are not a GB/T 2260 county-level division in ${where} (table: ${t.source})`;
  }
  return undefined;
}

/** The division a grid code lies in, named: `北京市 朝阳区 建外街道` (the street when the table knows it). */
export function divisionName(code: string): string | undefined {
  const t = table();
  const province = code.slice(0, 2);
  if (OUTSIDE_TABLE[province]) return OUTSIDE_TABLE[province];
  const county = t.counties[code.slice(0, 6)];
  if (!county || !t.provinces[province]) return undefined;
  const city = t.cities[code.slice(0, 4)];
  const street = t.streets[code.slice(0, 9)];
  return [t.provinces[province], city && city !== '市辖区' && city !== '县' ? city : undefined, county, street].filter(Boolean).join(' ');
}

export function parseGridCode(code: string): GridCodeParts {
  const problem = gridCodeProblem(code);
  if (problem) throw new Error(`'${code}' is not a grid code: ${problem}`);
  return { division: code.slice(0, 6), street: code.slice(6, 9), community: code.slice(9, 12), cell: code.slice(12, 15) };
}
