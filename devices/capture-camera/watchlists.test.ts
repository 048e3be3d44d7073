/**
 * Watchlists that survive OCR: a blocklisted plate read with one look-alike character (8/B, 0/D,
 * 2/Z, 1/I …) still matches, with the confusion in the facts; any other difference, another
 * province character or a second confusion does not; residents stay exact unless configured.
 */
import { describe, expect, it } from 'vitest';
import { confusions, Watchlists, type WatchlistSettings } from './watchlists.js';

const settings = (
  fuzzy?: Partial<WatchlistSettings['fuzzy']>,
): Omit<WatchlistSettings, 'viidServerId' | 'subscribe' | 'fetchStoragePath'> => ({
  blocklist: [{ plate: '京A·88B0Z', reason: 'reported stolen' }],
  muckTrucks: [{ plate: '京C·12345', allowedHours: '22:00-06:00', company: '城建渣土' }],
  residents: ['京N·66666'],
  fuzzy: { blocklist: 1, muckTrucks: 1, residents: 0, ...fuzzy },
});
const noon = Date.parse('2026-12-02T04:00:00Z'); // 12:00 in Beijing: out of the muck trucks' hours

describe('confusion-aware plate matching', () => {
  it('counts only look-alike substitutions, within the limit', () => {
    expect(confusions('京A8880Z', '京A88B0Z', 1)).toEqual(['8/B']);
    expect(confusions('京A8800Z', '京A88B0Z', 1)).toBeUndefined(); // 0 and B are not look-alikes
    expect(confusions('京AB8D02', '京A88B0Z', 2)).toBeUndefined(); // three confusions
    expect(confusions('京A88B0Z', '京A88B0Z', 0)).toEqual([]);
    expect(confusions('京A88X0Z', '京A88B0Z', 1)).toBeUndefined(); // X is not a look-alike of B
    expect(confusions('沪A88B0Z', '京A88B0Z', 2)).toBeUndefined(); // the province never
    expect(confusions('京A88B0', '京A88B0Z', 2)).toBeUndefined(); // another length
  });

  it('matches a blocklisted plate through one OCR confusion and says so; an exact one as exact', () => {
    const w = new Watchlists(settings(), 'Asia/Shanghai');
    expect(w.verdicts('京A88B0Z', noon)).toEqual([{ kind: 'blocked', reason: 'reported stolen', listed: '京A88B0Z', confusions: [] }]);
    expect(w.verdicts('京A8880Z', noon)).toEqual([{ kind: 'blocked', reason: 'reported stolen', listed: '京A88B0Z', confusions: ['8/B'] }]);
    expect(w.verdicts('京A88B02', noon)[0]).toMatchObject({ kind: 'blocked', confusions: ['2/Z'] });
    expect(w.verdicts('京A88BDZ', noon)[0]).toMatchObject({ kind: 'blocked', confusions: ['D/0'] });
    expect(w.verdicts('京A8880Z', noon).length).toBe(1);
    expect(w.verdicts('京A88X0Z', noon)).toEqual([]);
    expect(w.verdicts('京A8B802', noon)).toEqual([]); // two confusions: over the blocklist's one
    expect(w.verdicts('京C1Z345', noon)[0]).toMatchObject({ kind: 'muck_off_hours', listed: '京C12345', confusions: ['Z/2'] });
  });

  it('keeps the blocklist exact when asked, and residents exact by default', () => {
    expect(new Watchlists(settings({ blocklist: 0 }), 'Asia/Shanghai').verdicts('京A8880Z', noon)).toEqual([]);
    const w = new Watchlists(settings(), 'Asia/Shanghai');
    expect(w.isResident('京N66666')).toBe(true);
    expect(w.isResident('京N6666G')).toBe(false);
    expect(new Watchlists(settings({ residents: 1 }), 'Asia/Shanghai').isResident('京N6666G')).toBe(true);
  });
});
