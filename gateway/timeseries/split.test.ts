import { describe, expect, it } from 'vitest';
import { leftOver, sendSplitting } from './split.js';
import { WriteError } from './target.js';

/** A server that refuses any batch holding a line with "bad" in it, and is gone after `goneAfter` requests. */
function server(goneAfter = Infinity) {
  const stored: string[] = [];
  let requests = 0;
  const send = async (lines: string[]) => {
    if (++requests > goneAfter) throw new WriteError('the series server is unreachable');
    if (lines.some((l) => l.includes('bad'))) throw new WriteError('HTTP 400: field type conflict', 400);
    stored.push(...lines);
  };
  return { send, stored, requests: () => requests };
}

describe('sending a refused batch in halves', () => {
  it('stores every good line, returns each refused one with the reason, in few requests', async () => {
    const lines = Array.from({ length: 64 }, (_, i) => (i === 5 || i === 40 ? `bad ${i}` : `good ${i}`));
    const s = server();
    const refused = await sendSplitting(s.send, lines);
    expect(refused.map((r) => r.line)).toEqual(['bad 5', 'bad 40']);
    expect(refused[0]!.reason).toBe('HTTP 400: field type conflict');
    expect(s.stored.sort()).toEqual(lines.filter((l) => l.startsWith('good')).sort());
    expect(s.requests()).toBeLessThan(30); // two bad lines in 64: about 2·log2(64)·2 requests, not 64
  });

  it('gives up on a server that goes away, saying what was not sent and what was already refused', async () => {
    const lines = ['bad 0', 'good 1', 'good 2', 'good 3'];
    const s = server(4);
    const err = await sendSplitting(s.send, lines).catch((e: unknown) => e);
    const { unsent, refused } = leftOver(err, lines);
    expect(refused.map((r) => r.line)).toEqual(['bad 0']);
    expect([...s.stored, ...unsent, ...refused.map((r) => r.line)].sort()).toEqual([...lines].sort());
  });

  it('throws at once, with every line unsent, when the server is away from the start', async () => {
    const err = await sendSplitting(server(0).send, ['a', 'b']).catch((e: unknown) => e);
    expect(leftOver(err, ['a', 'b'])).toEqual({ unsent: ['a', 'b'], refused: [] });
  });
});
