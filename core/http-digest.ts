/**
 * HTTP Digest authentication (RFC 7616, MD5, qop=auth), which GA/T 1400 devices use to register
 * and upload. Nonces are signed timestamps, so the server keeps no state; a nonce older than five
 * minutes is answered with a fresh challenge marked stale.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const NONCE_TTL_MS = 5 * 60_000;

export function parseDigest(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^Digest\s/i.test(header)) return undefined;
  const fields: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z]+)=(?:"([^"]*)"|([^\s,]+))/g)) fields[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return fields;
}

export type DigestResult = { ok: true; user: string } | { ok: false; challenge: string };

export class DigestAuth {
  private readonly key = randomBytes(32);

  constructor(
    readonly realm: string,
    private readonly ha1: (user: string) => string | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private nonce(at = this.now()): string {
    const ts = at.toString(16);
    return `${ts}.${createHmac('sha256', this.key).update(ts).digest('hex').slice(0, 32)}`;
  }

  challenge(stale = false): string {
    return (
      `Digest realm="${this.realm}", qop="auth", algorithm=MD5, nonce="${this.nonce()}", ` +
      `opaque="gridedge"${stale ? ', stale=true' : ''}`
    );
  }

  /** Checks an Authorization header for `method` and the request URI. */
  verify(method: string, header: string | undefined): DigestResult {
    const d = parseDigest(header);
    const fail = (stale = false): DigestResult => ({ ok: false, challenge: this.challenge(stale) });
    if (!d?.username || !d.nonce || !d.uri || !d.response || d.realm !== this.realm) return fail();
    const [ts, sig] = d.nonce.split('.');
    if (!ts || !sig || this.nonce(parseInt(ts, 16)) !== d.nonce) return fail();
    if (this.now() - parseInt(ts, 16) > NONCE_TTL_MS) return fail(true);
    const ha1 = this.ha1(d.username);
    if (!ha1) return fail();
    const ha2 = md5(`${method}:${d.uri}`);
    const expected =
      d.qop === 'auth' ? md5(`${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:auth:${ha2}`) : md5(`${ha1}:${d.nonce}:${ha2}`);
    const a = Buffer.from(expected);
    const b = Buffer.from(d.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return fail();
    return { ok: true, user: d.username };
  }
}

/** The client side, for the simulator and tests: answers a challenge for one request. */
export function digestAuthorization(challenge: string, user: string, password: string, method: string, uri: string): string {
  const c = parseDigest(challenge) ?? {};
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const ha1 = md5(`${user}:${c.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const response = md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return (
    `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", qop=auth, nc=${nc}, cnonce="${cnonce}", ` +
    `response="${response}", opaque="${c.opaque ?? ''}", algorithm=MD5`
  );
}
