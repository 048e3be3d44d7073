import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode, GridedgeError, gridedgeError, isGridedgeError } from './errors.js';

const page = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map([...page.matchAll(/^\| `(GE_ERR_[A-Z_]+)` \| (\d{3}|–) \|/gm)].map((m) => [m[1]!, m[2]!]));

describe('coded errors', () => {
  it('documents every code, with its HTTP status, and nothing else (docs/errors.md)', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERRORS).sort());
    for (const [code, def] of Object.entries(ERRORS)) {
      const status = 'status' in def ? String(def.status) : '–';
      expect(rows.get(code), code).toBe(status);
    }
  });

  it('makes an error with its code, message and status', () => {
    const err = gridedgeError('GE_ERR_DEVICE_EXISTS', 'smoke-7');
    expect(err).toBeInstanceOf(GridedgeError);
    expect(err.code).toBe('GE_ERR_DEVICE_EXISTS');
    expect(err.message).toBe('device smoke-7 exists already');
    expect(err.statusCode).toBe(409);
    expect(isGridedgeError(err, 'GE_ERR_DEVICE_EXISTS')).toBe(true);
    expect(isGridedgeError(err, 'GE_ERR_DEVICE_NOT_FOUND')).toBe(false);
    expect(isGridedgeError(new Error('device smoke-7 exists already'))).toBe(false);
    expect(gridedgeError('GE_ERR_LISTEN', 'API', '127.0.0.1:8080', 'EADDRINUSE').statusCode).toBeUndefined();
  });

  it('uses only the GE_ERR_ prefix and upper-case codes', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) expect(code).toMatch(/^GE_ERR_[A-Z][A-Z_]+$/);
  });
});
