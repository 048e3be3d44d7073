import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../scripts/write-docs.js';

describe('the README', () => {
  it("shows the code's incident categories (run 'npm run docs' after changing one)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toBe(renderReadme(readme));
  });
});
