/** Chinese licence plates as cameras report them: normalized text and a colour. */
export type PlateColor = 'blue' | 'yellow' | 'green' | 'white' | 'black' | 'other';

/** `京A·12345`, `京A-12345`, ` 京a 12345 ` → `京A12345`: one form to compare with watchlists. */
export function normalizePlate(text: string): string {
  return text.replace(/[\s·.\-•]/g, '').toUpperCase();
}

/** Province character + letter + 5 characters, or 6 for new-energy plates (the last may be 挂学警港澳). */
export const PLATE_PATTERN =
  /^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$/u;

export function isPlate(normalized: string): boolean {
  return PLATE_PATTERN.test(normalized);
}

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
