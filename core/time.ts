/**
 * Sites live in a time zone (UTC+8 in China, without daylight saving): instants are stored in UTC,
 * but calendar dates (an inspection due "2026-05-31") are compared, and clock times shown, in the
 * site's zone, and a time shown carries its zone.
 */

/** The zone this machine is set to (what `gateway.timezone` defaults to). */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Whether `tz` is an IANA zone name this Node knows (Asia/Shanghai, UTC, …). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();
function parts(ms: number, tz: string): Record<string, string> {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formats.set(tz, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** The calendar date at `ms` in `tz`: `YYYY-MM-DD`. */
export function localDate(ms: number, tz: string): string {
  const p = parts(ms, tz);
  return `${p.year}-${p.month}-${p.day}`;
}

/** The clock time at `ms` in `tz`: `HH:MM:SS`. */
export function localClock(ms: number, tz: string): string {
  const p = parts(ms, tz);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** The zone's offset at `ms` as a reader expects it beside a time: `UTC+08:00`, `UTC`. */
export function zoneLabel(ms: number, tz: string): string {
  const name = parts(ms, tz).timeZoneName ?? 'GMT';
  return name === 'GMT' ? 'UTC' : name.replace(/^GMT/, 'UTC');
}

/** The zone's offset from UTC at `ms`, in ms (UTC+8 → 28 800 000). */
function offsetAt(ms: number, tz: string): number {
  const p = parts(ms, tz);
  const wall = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * A wall-clock time without a zone (`2026-12-01T16:23:32`, GB/T 28181's AlarmTime, a Date header)
 * read in `tz`, as an instant; NaN when it is not one.
 */
export function fromLocal(wall: string, tz: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(wall.trim());
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (Number.isNaN(guess) || new Date(guess).getUTCDate() !== d) return Number.NaN;
  const first = guess - offsetAt(guess, tz);
  return guess - offsetAt(first, tz);
}

/** `ms` as a wall-clock time in `tz` without a zone: `2026-12-01T16:23:32.000` (GB/T 28181 §9.10's Date). */
export function toLocal(ms: number, tz: string): string {
  const p = parts(ms, tz);
  const milli = String(((ms % 1000) + 1000) % 1000).padStart(3, '0');
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.${milli}`;
}
