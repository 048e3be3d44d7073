/**
 * Links to evidence that can be shared: `/api/evidence/{sha256}?exp={unix s}&sig={hex}` where sig
 * is HMAC-SHA256(secret, "{sha256}.{exp}"). The link works until `exp` and for nobody who cannot
 * produce the secret's signature; changing the secret revokes every link.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SHA256 } from './store.js';

export function signEvidence(secret: string, sha256: string, expiresAtSeconds: number): string {
  return createHmac('sha256', secret).update(`${sha256}.${expiresAtSeconds}`).digest('hex');
}

export function evidenceUrl(baseUrl: string, secret: string, sha256: string, ttlSeconds: number, nowMs = Date.now()): string {
  const exp = Math.floor(nowMs / 1000) + ttlSeconds;
  return `${baseUrl.replace(/\/$/, '')}/api/evidence/${sha256}?exp=${exp}&sig=${signEvidence(secret, sha256, exp)}`;
}

export type LinkCheck = { ok: true } | { ok: false; status: 400 | 403 | 410; reason: string };

export function checkEvidenceLink(
  secret: string,
  sha256: string,
  exp: string | undefined,
  sig: string | undefined,
  nowMs = Date.now(),
): LinkCheck {
  if (!SHA256.test(sha256)) return { ok: false, status: 400, reason: 'not a sha256' };
  if (!exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[0-9a-f]{64}$/.test(sig))
    return { ok: false, status: 403, reason: 'missing or malformed signature' };
  const expected = Buffer.from(signEvidence(secret, sha256, Number(exp)), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, status: 403, reason: 'bad signature' };
  if (Number(exp) * 1000 < nowMs) return { ok: false, status: 410, reason: 'link expired' };
  return { ok: true };
}
