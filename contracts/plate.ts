/**
 * The one grammar of Chinese motor-vehicle plates (GA 36-2018 号牌 and the plates it names),
 * used by the plate detector, the capture cameras and the watchlists alike: which texts are plates,
 * how a reading is normalised, and what type of plate it is.
 *
 * Layouts (after the normalisation below, separators dropped):
 * - civil: province character + issuing letter (no I, O) + 5 letters/digits (小型 blue, 大型 yellow:
 *   one row in front, two rows behind), or + 6 for new-energy plates (GA 36-2018 §5.5: small ones,
 *   green, have D or F first; large ones, yellow-green, D or F last);
 * - civil + 4 and a closing character: 挂 trailer and 学 coach (yellow, trailers two-row), 警 police
 *   (white), 港 / 澳 Hong Kong and Macau vehicles entering through Guangdong (black), 领 consulate
 *   (black); 应急 emergency-rescue vehicles close with two characters;
 * - 使 + 6 digits: embassy vehicles (black, the 使 in red);
 * - 民航 + 5 letters/digits: civil aviation vehicles inside airports.
 */

export const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';

export const PLATE_TYPES = [
  'small',
  'large',
  'new_energy_small',
  'new_energy_large',
  'trailer',
  'coach',
  'police',
  'emergency',
  'embassy',
  'consulate',
  'hong_kong',
  'macau',
  'civil_aviation',
] as const;
export type PlateType = (typeof PLATE_TYPES)[number];

/** Letters and digits after the issuing letter: I and O are never used (GA 36-2018 §5.3). */
const SERIAL = '[A-HJ-NP-Z0-9]';
const CIVIL = new RegExp(`^[${PROVINCES}][A-HJ-NP-Z](${SERIAL}{5}|${SERIAL}{6}|${SERIAL}{4}[挂学警港澳领]|${SERIAL}{4}应急)$`, 'u');
const EMBASSY = /^使\d{6}$/u;
const AVIATION = new RegExp(`^民航${SERIAL}{5}$`, 'u');

/**
 * `京A·12345`, `京A-12345`, ` 京a 12345 `, `京Ａ１２３４５` → `京A12345`: one form to compare and
 * store. Full-width letters and digits (an OCR's or a camera's GBK text) become ASCII.
 */
export function normalizePlate(text: string): string {
  return text
    .replace(/[\uff01-\uff5e]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\s·•・.\-。，,]/g, '')
    .toUpperCase();
}

/** Whether a normalised text is a plate of any type this grammar knows. */
export function isPlate(normalized: string): boolean {
  if (EMBASSY.test(normalized) || AVIATION.test(normalized)) return true;
  if (!CIVIL.test(normalized)) return false;
  const tail = normalized.slice(2);
  // New-energy plates (6 letters and digits after the issuing letter) start or end with D or F.
  return !/^[A-Z0-9]{6}$/.test(tail) || /^[DF]|[DF]$/.test(tail);
}

/**
 * A reading (OCR, a camera's own) as a normalised plate, or undefined when it is not one. O and I,
 * never used after the issuing letter, are read as 0 and 1 there; an I between the province
 * character and the letter is the province character's last stroke read twice.
 */
export function parsePlate(raw: string): string | undefined {
  let compact = normalizePlate(raw.trim());
  // A letter or digit before the province character is the plate's edge or bolt read as one.
  if (/^[A-Z0-9][^A-Z0-9]/.test(compact) && PROVINCES.includes(compact[1]!)) compact = compact.slice(1);
  // The head the serial follows: 使, 民航, or a civil plate's province character and letter.
  const head = compact.startsWith('使') ? 1 : compact.startsWith('民航') ? 2 : 0;
  if (!head) {
    if (compact[1] === 'I' && /[A-Z]/.test(compact[2] ?? '')) compact = compact[0]! + compact.slice(2);
    // 澳 read without its water radical is 奥, which closes no plate.
    if (compact.endsWith('奥')) compact = `${compact.slice(0, -1)}澳`;
    if (compact.length < 7 || compact.length > 9) return undefined;
  }
  const at = head || 2;
  const fixed = compact.slice(0, at) + compact.slice(at).replace(/O/g, '0').replace(/I/g, '1');
  return isPlate(fixed) ? fixed : undefined;
}

/**
 * The plate's type from its text and, where the text alone cannot tell (an ordinary small or large
 * plate, a new-energy plate with D or F at both ends), its background colour.
 */
export function plateType(normalized: string, color?: string): PlateType | undefined {
  if (!isPlate(normalized)) return undefined;
  if (normalized.startsWith('使')) return 'embassy';
  if (normalized.startsWith('民航')) return 'civil_aviation';
  if (normalized.endsWith('应急')) return 'emergency';
  const closing: Record<string, PlateType> = {
    挂: 'trailer',
    学: 'coach',
    警: 'police',
    港: 'hong_kong',
    澳: 'macau',
    领: 'consulate',
  };
  const last = normalized.at(-1)!;
  if (closing[last]) return closing[last];
  const tail = normalized.slice(2);
  if (/^[A-Z0-9]{6}$/.test(tail)) {
    const first = /^[DF]/.test(tail);
    const end = /[DF]$/.test(tail);
    if (first && end) return color === 'yellow' ? 'new_energy_large' : 'new_energy_small';
    return first ? 'new_energy_small' : 'new_energy_large';
  }
  return color === 'yellow' ? 'large' : 'small';
}
