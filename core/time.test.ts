import { describe, expect, it } from 'vitest';
import { fromLocal, localClock, toLocal, zoneLabel } from './time.js';

describe('site times', () => {
  it('reads a wall-clock time in the site zone as an instant, and writes one back', () => {
    const at = fromLocal('2026-12-01T16:23:32', 'Asia/Shanghai');
    expect(new Date(at).toISOString()).toBe('2026-12-01T08:23:32.000Z');
    expect(toLocal(at, 'Asia/Shanghai')).toBe('2026-12-01T16:23:32.000');
    expect(fromLocal('2026-12-01 00:00:00.5', 'UTC')).toBe(Date.parse('2026-12-01T00:00:00.500Z'));
    expect(toLocal(Date.parse('2026-12-31T23:59:59.250Z'), 'Asia/Shanghai')).toBe('2027-01-01T07:59:59.250');
    expect(zoneLabel(at, 'Asia/Shanghai')).toBe('UTC+08:00');
    expect(localClock(at, 'Asia/Shanghai')).toBe('16:23:32');
  });

  it('follows daylight saving where a zone has it, and refuses what is not a time', () => {
    expect(new Date(fromLocal('2026-07-01T12:00:00', 'Europe/Berlin')).toISOString()).toBe('2026-07-01T10:00:00.000Z');
    expect(new Date(fromLocal('2026-01-01T12:00:00', 'Europe/Berlin')).toISOString()).toBe('2026-01-01T11:00:00.000Z');
    expect(fromLocal('2026-02-30T12:00:00', 'UTC')).toBeNaN();
    expect(fromLocal('20261201162332', 'UTC')).toBeNaN();
    expect(fromLocal('yesterday', 'UTC')).toBeNaN();
  });
});
