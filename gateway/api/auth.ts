/**
 * Bearer tokens for the API, each with a role: `read` looks, `operator` may also change things.
 * Tokens are compared by digest in constant time; a missing or wrong token is a 401, a read
 * token on an operator route a 403.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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

/**
 * Tickets for the live feed: EventSource cannot send an Authorization header, and a token in a
 * URL ends up in proxies' logs. The console asks for a ticket with its token (a POST), then opens
 * the feed with it: a ticket is random, works once, and for 30 seconds.
 */
export class StreamTickets {
  private readonly tickets = new Map<string, { name: string; role: Role; until: number }>();

  constructor(private readonly ttlMs = 30_000) {}

  issue(holder: { name: string; role: Role }, now = Date.now()): { ticket: string; expiresInSeconds: number } {
    for (const [k, v] of this.tickets) if (v.until < now) this.tickets.delete(k);
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { ...holder, until: now + this.ttlMs });
    return { ticket, expiresInSeconds: Math.round(this.ttlMs / 1000) };
  }

  /** Uses up a ticket: the holder it was issued to, or why not. */
  redeem(ticket: string | undefined, now = Date.now()): AuthResult {
    const t = ticket ? this.tickets.get(ticket) : undefined;
    if (ticket) this.tickets.delete(ticket);
    if (!t || t.until < now) return { ok: false, status: 401, error: 'unknown or expired ticket (POST /api/events/ticket for a new one)' };
    return { ok: true, name: t.name, role: t.role };
  }
}
