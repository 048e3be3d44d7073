/** Plate colours as cameras report them (the plate grammar itself is contracts/plate.ts). */
export type PlateColor = 'blue' | 'yellow' | 'green' | 'white' | 'black' | 'other';

/** GA 24.8 colour codes, as GA/T 1400 objects carry them. */
const GA_CODES: Record<string, PlateColor> = { '1': 'black', '2': 'white', '5': 'blue', '6': 'yellow', '9': 'green' };

const NAMES: Record<string, PlateColor> = {
  ...GA_CODES,
  blue: 'blue',
  蓝: 'blue',
  蓝色: 'blue',
  yellow: 'yellow',
  黄: 'yellow',
  黄色: 'yellow',
  green: 'green',
  绿: 'green',
  绿色: 'green',
  黄绿: 'green',
  渐变绿: 'green',
  white: 'white',
  白: 'white',
  白色: 'white',
  black: 'black',
  黑: 'black',
  黑色: 'black',
};

/** A plate colour as its GA 24.8 code (99: other), for the GA/T 1400 objects the gateway sends. */
export function gaColorCode(color: string): string {
  return Object.entries(GA_CODES).find(([, c]) => c === color)?.[0] ?? '99';
}

export function plateColor(value: string | undefined): PlateColor | undefined {
  if (value === undefined || value === '') return undefined;
  return NAMES[value.trim().toLowerCase()] ?? 'other';
}
