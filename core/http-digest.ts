/**
 * HTTP Digest authentication (RFC 7616), which GA/T 1400 devices use to register and upload, and
 * which cameras ask of the gateway for snapshots. The server side: MD5 with qop=auth; nonces are
 * signed timestamps, so they need no table to be checked; a nonce older than five minutes is
 * answered with a fresh challenge marked stale. The digest must be for this request's URI
 * (§3.4.6) and its nonce count must grow (§3.4): a captured header does not replay.
 * The client side answers MD5 and SHA-256 challenges, with or without qop.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const NONCE_TTL_MS = 5 * 60_000;
/** Nonces whose counts are remembered at once; the oldest are forgotten (they expire anyway). */
const MAX_TRACKED_NONCES = 50_000;

export function parseDigest(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^Digest\s/i.test(header)) return undefined;
  const fields: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z-]+)=(?:"([^"]*)"|([^\s,]+))/g)) fields[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return fields;
}

export type DigestResult = { ok: true; user: string } | { ok: false; challenge: string; reason: string };

/** The request-target of a digest's `uri`: an absolute URI counts by its path and query. */
function requestTarget(uri: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return uri;
  try {
    const u = new URL(uri);
    return `${u.pathname}${u.search}`;
  } catch {
    return uri;
  }
}

export class DigestAuth {
  private readonly key = randomBytes(32);
  /** The highest nonce count accepted for each live nonce (-1: a nonce used once without qop). */
  private readonly counts = new Map<string, number>();

  constructor(
    readonly realm: string,
    private readonly ha1: (user: string) => string | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * A fresh nonce per challenge: its time, 64 random bits, and the server's HMAC over both. The
   * random part matters: two clients challenged in the same millisecond must not share a nonce,
   * or the second one's first count would look like the first one's replay.
   */
  private nonce(at = this.now(), salt = randomBytes(8).toString('hex')): string {
    const head = `${at.toString(16)}.${salt}`;
    return `${head}.${createHmac('sha256', this.key).update(head).digest('hex').slice(0, 32)}`;
  }

  challenge(stale = false): string {
    return (
      `Digest realm="${this.realm}", qop="auth", algorithm=MD5, nonce="${this.nonce()}", ` +
      `opaque="gridedge"${stale ? ', stale=true' : ''}`
    );
  }

  /**
   * Checks an Authorization header for `method` on `uri` (the request-target, path and query), or
   * on any digest URI `uri` accepts (SIP peers name the server in several ways, RFC 3261 §22.4).
   */
  verify(method: string, uri: string | ((digestUri: string) => boolean), header: string | undefined): DigestResult {
    const d = parseDigest(header);
    const fail = (reason: string, stale = false): DigestResult => ({ ok: false, challenge: this.challenge(stale), reason });
    if (!d) return fail(header ? 'not a Digest authorization' : 'no credentials');
    if (!d.username || !d.nonce || !d.uri || !d.response || d.realm !== this.realm) return fail('incomplete Digest authorization');
    if (d.algorithm && d.algorithm.toUpperCase() !== 'MD5') return fail(`algorithm ${d.algorithm} not offered`);
    const [ts, salt, sig] = d.nonce.split('.');
    if (!ts || !salt || !sig || !/^[0-9a-f]{16}$/.test(salt) || this.nonce(parseInt(ts, 16), salt) !== d.nonce)
      return fail('not a nonce of this server');
    const issued = parseInt(ts, 16);
    if (this.now() - issued > NONCE_TTL_MS) return fail('nonce expired', true);
    if (typeof uri === 'function' ? !uri(d.uri) : requestTarget(d.uri) !== uri) return fail('the digest is for another URI');
    const ha1 = this.ha1(d.username);
    if (!ha1) return fail('unknown user');
    const ha2 = md5(`${method}:${d.uri}`);
    const qop = d.qop === 'auth';
    if (d.qop && !qop) return fail(`qop ${d.qop} not offered`);
    const nc = qop ? Number.parseInt(d.nc ?? '', 16) : -1;
    if (qop && (!/^[0-9a-f]{8}$/i.test(d.nc ?? '') || !d.cnonce)) return fail('qop=auth needs nc and cnonce');
    const expected = qop ? md5(`${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:auth:${ha2}`) : md5(`${ha1}:${d.nonce}:${ha2}`);
    const a = Buffer.from(expected);
    const b = Buffer.from(d.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return fail('wrong credentials');
    // Only now, for a genuine response: a replay carries a count already seen for its nonce.
    const seen = this.counts.get(d.nonce);
    if (seen !== undefined && (nc === -1 || nc <= seen)) return fail('nonce count reused (a replay)');
    this.remember(d.nonce, nc);
    return { ok: true, user: d.username };
  }

  private remember(nonce: string, nc: number): void {
    this.counts.delete(nonce);
    this.counts.set(nonce, nc);
    const cutoff = this.now() - NONCE_TTL_MS;
    for (const key of this.counts.keys()) {
      const old = parseInt(key.split('.')[0]!, 16) < cutoff;
      if (!old && this.counts.size <= MAX_TRACKED_NONCES) break;
      this.counts.delete(key);
    }
  }
}

const HASHES: Record<string, string> = { MD5: 'md5', 'MD5-SESS': 'md5', 'SHA-256': 'sha256', 'SHA-256-SESS': 'sha256' };

/**
 * The client side (the simulator, tests, snapshots from cameras): answers a challenge for one
 * request. MD5 or SHA-256 (and their -sess forms), qop=auth when offered, the RFC 2069 form when not.
 */
export function digestAuthorization(
  challenge: string,
  user: string,
  password: string,
  method: string,
  uri: string,
  count = 1,
  cnonce = randomBytes(8).toString('hex'),
): string {
  const c = parseDigest(challenge) ?? {};
  const algorithm = (c.algorithm ?? 'MD5').toUpperCase();
  const hash = HASHES[algorithm];
  if (!hash) throw new Error(`the server asks for Digest algorithm ${c.algorithm}, which gridedge does not speak (MD5, SHA-256)`);
  const h = (s: string) => createHash(hash).update(s).digest('hex');
  const nc = count.toString(16).padStart(8, '0');
  const qop = (c.qop ?? '')
    .split(',')
    .map((q) => q.trim())
    .includes('auth');
  let ha1 = h(`${user}:${c.realm}:${password}`);
  if (algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${c.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response = qop ? h(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(`${ha1}:${c.nonce}:${ha2}`);
  const parts = [`username="${user}"`, `realm="${c.realm}"`, `nonce="${c.nonce}"`, `uri="${uri}"`];
  if (qop) parts.push('qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  parts.push(`response="${response}"`);
  if (c.opaque !== undefined) parts.push(`opaque="${c.opaque}"`);
  parts.push(`algorithm=${c.algorithm ?? 'MD5'}`);
  return `Digest ${parts.join(', ')}`;
}

/** The Authorization that answers a WWW-Authenticate challenge: Digest when it asks for Digest, else Basic. */
export function answerChallenge(challenge: string, user: string, password: string, method: string, uri: string): string {
  return /^Digest/i.test(challenge)
    ? digestAuthorization(challenge, user, password, method, uri)
    : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
