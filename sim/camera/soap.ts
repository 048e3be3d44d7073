/**
 * SOAP 1.2 as an ONVIF device speaks it: parse a request, name its operation, check its
 * WS-UsernameToken, and wrap answers and faults in an envelope with the usual prefixes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

export const NS = {
  env: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wsa: 'http://www.w3.org/2005/08/addressing',
  tns1: 'http://www.onvif.org/ver10/topics',
  ter: 'http://www.onvif.org/ver10/error',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  d: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  wsa04: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
} as const;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
});

export type XmlNode = { [key: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

export interface SoapRequest {
  operation: string;
  body: XmlNode;
  header: XmlNode;
}

export class SoapParseError extends Error {}

export function parseSoap(xml: string): SoapRequest {
  let doc: XmlNode;
  try {
    doc = parser.parse(xml, true) as XmlNode;
  } catch (err) {
    throw new SoapParseError(`not well-formed XML: ${(err as Error).message}`);
  }
  const envelope = node(doc.Envelope);
  const body = node(envelope?.Body);
  if (!envelope || !body) throw new SoapParseError('not a SOAP envelope (no Envelope/Body)');
  const operation = Object.keys(body).find((k) => !k.startsWith('@'));
  if (!operation) throw new SoapParseError('empty SOAP Body');
  return { operation, body: node(body[operation]) ?? {}, header: node(envelope.Header) ?? {} };
}

export function node(v: XmlValue | undefined): XmlNode | undefined {
  if (Array.isArray(v)) return node(v[0]);
  return v !== undefined && typeof v === 'object' ? v : undefined;
}

export function text(v: XmlValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  const n = node(v);
  const t = n?.['#text'];
  return typeof t === 'string' ? t : undefined;
}

export type TokenCheck = { ok: true; user: string } | { ok: false; reason: string } | { ok: 'absent' };

/**
 * WS-UsernameToken (PasswordDigest = Base64(SHA-1(nonce + created + password)), or PasswordText).
 * A token must be fresh (`Created` within `skewMs` of our clock) and its nonce unused, so a
 * captured request cannot be replayed.
 */
export class UsernameTokenVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly skewMs = 5 * 60_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  check(header: XmlNode): TokenCheck {
    const token = node(node(header.Security)?.UsernameToken);
    if (!token) return { ok: 'absent' };
    const user = text(token.Username) ?? '';
    const password = token.Password;
    const given = text(password) ?? '';
    const type = node(password)?.['@Type'];
    const expected = this.users.get(user);
    if (expected === undefined) return { ok: false, reason: 'unknown user' };
    if (typeof type === 'string' && type.endsWith('#PasswordText')) {
      return equal(given, expected) ? { ok: true, user } : { ok: false, reason: 'wrong password' };
    }
    const nonce = text(token.Nonce) ?? '';
    const created = text(token.Created) ?? '';
    const at = Date.parse(created);
    if (!nonce || Number.isNaN(at)) return { ok: false, reason: 'digest token without Nonce or Created' };
    if (Math.abs(this.now() - at) > this.skewMs) return { ok: false, reason: 'token Created too far from the device clock' };
    const digest = createHash('sha1')
      .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(expected)]))
      .digest('base64');
    if (!equal(given, digest)) return { ok: false, reason: 'wrong password' };
    this.forgetOld();
    if (this.seen.has(nonce)) return { ok: false, reason: 'nonce replayed' };
    this.seen.set(nonce, this.now());
    return { ok: true, user };
  }

  private forgetOld(): void {
    const horizon = this.now() - 2 * this.skewMs;
    for (const [nonce, at] of this.seen) {
      if (at >= horizon) break;
      this.seen.delete(nonce);
    }
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ENVELOPE_NS = Object.entries(NS)
  .filter(([p]) => !['d', 'dn', 'wsa04'].includes(p))
  .map(([p, uri]) => `xmlns:${p}="${uri}"`)
  .join(' ');

export function envelope(body: string, header = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope ${ENVELOPE_NS}><env:Header>${header}</env:Header>` +
    `<env:Body>${body}</env:Body></env:Envelope>`
  );
}

export function fault(code: 'Sender' | 'Receiver', subcode: string, reason: string): string {
  return envelope(
    `<env:Fault><env:Code><env:Value>env:${code}</env:Value><env:Subcode><env:Value>${subcode}</env:Value></env:Subcode></env:Code>` +
      `<env:Reason><env:Text xml:lang="en">${escapeXml(reason)}</env:Text></env:Reason></env:Fault>`,
  );
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** ISO 8601 durations as ONVIF uses them (PT60S, PT1M30S, P1D); undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s.trim());
  if (!m || s.trim() === 'P' || s.trim().endsWith('T')) return undefined;
  const [, d, h, min, sec] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000;
}
