import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { render, SCHEMA_FILES } from '../scripts/write-schemas.js';

describe('public JSON Schema files', () => {
  for (const [file, schema] of Object.entries(SCHEMA_FILES)) {
    it(`${file} matches its TypeBox definition (run 'npm run schemas' after changing the contract)`, () => {
      const committed = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      expect(committed).toBe(render(schema));
    });
  }
});
