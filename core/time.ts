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
