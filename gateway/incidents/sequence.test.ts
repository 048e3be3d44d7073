import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { describe, expect, it } from 'vitest';
import { Sequence } from './sequence.js';

describe('incident sequence', () => {
  it('counts from 1 and carries on where the last process stopped', async () => {
    const dir = await tempDir('seq');
    const a = new Sequence(dir);
    expect([a.next(), a.next(), a.next()]).toEqual([1, 2, 3]);
    expect(await readFile(path.join(dir, 'seq'), 'utf8')).toBe('3');
    const b = new Sequence(dir);
    expect(b.current).toBe(3);
    expect(b.next()).toBe(4);
  });

  it('refuses to start from a corrupt file rather than reuse numbers', async () => {
    const dir = await tempDir('seq');
    await writeFile(path.join(dir, 'seq'), 'garbage');
    expect(() => new Sequence(dir)).toThrow(/corrupt sequence file/);
  });
});
