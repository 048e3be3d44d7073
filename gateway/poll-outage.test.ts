import { describe, expect, it } from 'vitest';
import type { SourceEvent } from '../devices/sources/types.js';
import { PollOutage } from './poll-outage.js';

describe('a polled API that stops answering', () => {
  it('reports a device offline after N failed rounds in a row, once, and online at the first answer', () => {
    const events: SourceEvent[] = [];
    const o = new PollOutage(
      3,
      'the API does not answer',
      (e) => events.push(e),
      () => undefined,
    );
    o.failed('a');
    o.failed('a');
    o.answered('a'); // not in a row
    o.failed('a');
    o.failed('a');
    expect(events).toEqual([]);
    o.failed('a');
    o.failed('a');
    expect(events).toEqual([{ type: 'availability', externalId: 'a', online: false, reason: 'the API does not answer' }]);
    expect(o.isDown('a')).toBe(true);
    o.answered('a');
    o.answered('a');
    expect(events.slice(1)).toEqual([{ type: 'availability', externalId: 'a', online: true }]);
  });

  it('keeps a device offline when the platform said so meanwhile', () => {
    const events: SourceEvent[] = [];
    const o = new PollOutage(
      1,
      'down',
      (e) => events.push(e),
      () => false,
    );
    o.failed('a');
    o.answered('a');
    expect(events.map((e) => e.type === 'availability' && e.online)).toEqual([false]);
    expect(o.isDown('a')).toBe(false);
  });
});
