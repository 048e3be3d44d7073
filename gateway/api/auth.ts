/**
 * Bearer tokens for the API, each with a role: `read` looks, `operator` may also change things.
 * Tokens are compared by digest in constant time; a missing or wrong token is a 401, a read
 * token on an operator route a 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'read' | 'operator';

export interface ApiToken {
  name: string;
  token: string;
  role: Role;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export type AuthResult = { ok: true; name: string; role: Role } | { ok: false; status: 401 | 403; error: string };

export class TokenAuth {
  private readonly tokens: Array<{ name: string; role: Role; digest: Buffer }>;

  constructor(tokens: ApiToken[]) {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, digest: digest(t.token) }));
  }

  check(authorization: string | undefined, needs: Role): AuthResult {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) return { ok: false, status: 401, error: 'missing bearer token (Authorization: Bearer <token>)' };
    const given = digest(m[1]!);
    const found = this.tokens.find((t) => timingSafeEqual(t.digest, given));
    if (!found) return { ok: false, status: 401, error: 'unknown token' };
    if (needs === 'operator' && found.role !== 'operator') return { ok: false, status: 403, error: `token '${found.name}' is read-only` };
    return { ok: true, name: found.name, role: found.role };
  }
}
