/**
 * Grid codes: 15 digits = 6-digit administrative division (GB/T 2260) + 3 street/town
 * + 3 community + 3 cell. The first two digits name a province-level division; a code whose
 * prefix names none is a typo worth catching at start-up rather than at the command centre.
 */
import { Type } from '@sinclair/typebox';

export const GRID_CODE_DESCRIPTION =
  '15-digit grid code: 6-digit GB/T 2260 division + 3 street/town + 3 community + 3 cell, as a quoted string';
/** A grid code in a schema (config, scenario files, API bodies): the shape only; `gridCodeProblem` checks the division. */
export const GridCode = Type.String({ pattern: '^[0-9]{15}$', description: GRID_CODE_DESCRIPTION });

const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
]);

export interface GridCodeParts {
  division: string;
  street: string;
  community: string;
  cell: string;
}

/** Returns a reason the code is wrong, or undefined when it is well-formed. */
export function gridCodeProblem(code: string): string | undefined {
  if (!/^[0-9]{15}$/.test(code)) return 'a grid code is exactly 15 digits';
  const province = Number(code.slice(0, 2));
  if (!PROVINCES.has(province)) return `its first two digits (${code.slice(0, 2)}) are not a GB/T 2260 province code`;
  return undefined;
}

export function parseGridCode(code: string): GridCodeParts {
  const problem = gridCodeProblem(code);
  if (problem) throw new Error(`'${code}' is not a grid code: ${problem}`);
  return { division: code.slice(0, 6), street: code.slice(6, 9), community: code.slice(9, 12), cell: code.slice(12, 15) };
}
