import { describe, expect, it } from 'vitest';
import { digestHA1 } from './credentials.js';
import { DigestAuth, digestAuthorization, parseDigest } from './http-digest.js';

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
const RFC = {
  user: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};
const challenge = (algorithm: string) =>
  `Digest realm="${RFC.realm}", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC.nonce}", opaque="${RFC.opaque}"`;

describe('HTTP Digest, client side', () => {
  it('answers the RFC 7616 example with MD5 and with SHA-256', () => {
    const md5 = parseDigest(digestAuthorization(challenge('MD5'), RFC.user, RFC.password, 'GET', '/dir/index.html', 1, RFC.cnonce));
    expect(md5).toMatchObject({ response: '8ca523f5e9506fed4657c9700eebdbec', qop: 'auth', nc: '00000001', algorithm: 'MD5' });
    const sha = parseDigest(digestAuthorization(challenge('SHA-256'), RFC.user, RFC.password, 'GET', '/dir/index.html', 1, RFC.cnonce));
    expect(sha).toMatchObject({ response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1', algorithm: 'SHA-256' });
  });

  it('answers a challenge without qop in the RFC 2069 form (no nc, no cnonce)', () => {
    const d = parseDigest(digestAuthorization(`Digest realm="cam", nonce="abc"`, 'admin', 'pw', 'GET', '/snap.jpg'))!;
    expect(d.qop).toBeUndefined();
    expect(d.nc).toBeUndefined();
    expect(d.response).toMatch(/^[0-9a-f]{32}$/);
  });

  it('says which algorithm it cannot speak', () => {
    expect(() => digestAuthorization(`Digest realm="x", nonce="n", algorithm=SHA-512-256`, 'a', 'b', 'GET', '/')).toThrow(/SHA-512-256/);
  });
});

describe('HTTP Digest, server side', () => {
  const auth = new DigestAuth('gridedge-viid', (user) => (user === 'cam-1' ? digestHA1('cam-1', 'gridedge-viid', 'secret-1') : undefined));
  const sign = (uri: string, count = 1) => digestAuthorization(auth.challenge(), 'cam-1', 'secret-1', 'POST', uri, count);

  it('accepts a signed request once per nonce count, for its own URI only', () => {
    const header = sign('/VIID/Faces');
    expect(auth.verify('POST', '/VIID/Faces', header)).toEqual({ ok: true, user: 'cam-1' });
    expect(auth.verify('POST', '/VIID/Faces', header)).toMatchObject({ ok: false, reason: 'nonce count reused (a replay)' });
    expect(auth.verify('POST', '/VIID/MotorVehicles', sign('/VIID/Faces'))).toMatchObject({
      ok: false,
      reason: 'the digest is for another URI',
    });
  });

  it('accepts the same nonce again with a higher count, as clients reuse it', () => {
    const c = auth.challenge();
    const at = (n: number) => digestAuthorization(c, 'cam-1', 'secret-1', 'POST', '/VIID/Faces', n);
    expect(auth.verify('POST', '/VIID/Faces', at(1)).ok).toBe(true);
    expect(auth.verify('POST', '/VIID/Faces', at(2)).ok).toBe(true);
    expect(auth.verify('POST', '/VIID/Faces', at(2)).ok).toBe(false);
  });

  it('gives every challenge its own nonce, so two clients challenged in the same millisecond are both let in', () => {
    const now = () => 1_795_352_625_000;
    const still = new DigestAuth(
      'gridedge-viid',
      (user) => (user === 'cam-1' ? digestHA1('cam-1', 'gridedge-viid', 'secret-1') : undefined),
      now,
    );
    const [a, b] = [still.challenge(), still.challenge()];
    expect(a).not.toBe(b);
    for (const c of [a, b])
      expect(still.verify('POST', '/VIID/Faces', digestAuthorization(c, 'cam-1', 'secret-1', 'POST', '/VIID/Faces', 1)).ok).toBe(true);
  });

  it('refuses a wrong password, an unknown user and a forged nonce', () => {
    expect(auth.verify('POST', '/x', digestAuthorization(auth.challenge(), 'cam-1', 'wrong', 'POST', '/x'))).toMatchObject({
      ok: false,
      reason: 'wrong credentials',
    });
    expect(auth.verify('POST', '/x', digestAuthorization(auth.challenge(), 'cam-9', 'secret-1', 'POST', '/x'))).toMatchObject({
      ok: false,
      reason: 'unknown user',
    });
    const forged = digestAuthorization(
      'Digest realm="gridedge-viid", qop="auth", nonce="18f00000000.deadbeef"',
      'cam-1',
      'secret-1',
      'POST',
      '/x',
    );
    expect(auth.verify('POST', '/x', forged)).toMatchObject({ ok: false, reason: 'not a nonce of this server' });
  });
});
