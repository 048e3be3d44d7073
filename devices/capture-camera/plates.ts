/** Plate colours as cameras report them (the plate grammar itself is contracts/plate.ts). */
export type PlateColor = 'blue' | 'yellow' | 'green' | 'white' | 'black' | 'other';

const NAMES: Record<string, PlateColor> = {
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
  // GA 24.8 colour codes, as GA/T 1400 uploads carry them.
  '1': 'black',
  '2': 'white',
  '5': 'blue',
  '6': 'yellow',
  '9': 'green',
};

export function plateColor(value: string | undefined): PlateColor | undefined {
  if (value === undefined || value === '') return undefined;
  return NAMES[value.trim().toLowerCase()] ?? 'other';
}
