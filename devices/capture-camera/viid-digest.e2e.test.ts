/**
 * GA/T 1400 sign-in as libcurl-based camera firmware does it, with Debian's curl: `--digest`
 * first sends the request without credentials (and, for a POST, with `Content-Length: 0`), reads
 * the 401 challenge, then sends it again signed. The challenge must come before any body parsing,
 * a wrong password must get 401 (not 400), and a captured Authorization header must not replay:
 * not against another URI (RFC 7616 §3.4.6, the digest covers the request-target) and not twice
 * with the same nonce count (§3.4, nc).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const run = promisify(execFile);
const DEVICE = '34020000001190000002';
const SECRET = 'viid-secret-2';
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ devices: [{ id: DEVICE, kind: 'capture-camera', secret: SECRET }] });
});
afterAll(async () => {
  await t?.stop();
});

interface CurlResult {
  status: number;
  body: string;
  /** The Authorization header curl sent on its signed try, as `curl -v` shows it. */
  authorization?: string;
  challenge?: string;
}

async function curl(args: string[]): Promise<CurlResult> {
  const { stdout, stderr } = await run('curl', ['-sS', '-v', '-o', '-', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  const sent = [...stderr.matchAll(/^> Authorization: (Digest .+?)\r?$/gm)].map((m) => m[1]!);
  const challenge = /^< WWW-Authenticate: (Digest .+?)\r?$/im.exec(stderr)?.[1];
  return { status, body: lines.join('\n'), ...(sent.length ? { authorization: sent.at(-1)! } : {}), ...(challenge ? { challenge } : {}) };
}

const register = JSON.stringify({ RegisterObject: { DeviceID: DEVICE } });
const viid = (path: string) => `${t.apiUrl}${path}`;
const json = ['-H', 'Content-Type: application/VIID+JSON;charset=UTF-8'];

describe('GA/T 1400 Digest with curl', () => {
  it('answers curl --digest: the empty first request gets the challenge, the signed one is served', async () => {
    const r = await curl(['--digest', '-u', `${DEVICE}:${SECRET}`, ...json, '-d', register, viid('/VIID/System/Register')]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ResponseStatusObject: { ID: DEVICE, StatusCode: 0 } });
    // With application/json too, as libcurl's default, and without any body at all.
    const plain = await curl([
      '--digest',
      '-u',
      `${DEVICE}:${SECRET}`,
      '-H',
      'Content-Type: application/json',
      '-d',
      register,
      viid('/VIID/System/Keepalive').replace('Keepalive', 'Register'),
    ]);
    expect(plain.status).toBe(200);
  });

  it('answers a request without credentials, of any content type and length, with 401 and a challenge', async () => {
    for (const extra of [
      ['-H', 'Content-Type: application/json', '-H', 'Content-Length: 0', '-X', 'POST'],
      [...json, '-d', register],
      ['-d', '{not json'],
    ]) {
      const r = await curl([...extra, viid('/VIID/System/Register')]);
      expect(r.status, extra.join(' ')).toBe(401);
      expect(r.challenge).toMatch(/^Digest realm="gridedge-viid", qop="auth"/);
    }
  });

  it('refuses a wrong password with 401, not 400', async () => {
    const r = await curl(['--digest', '-u', `${DEVICE}:not-the-secret`, ...json, '-d', register, viid('/VIID/System/Register')]);
    expect(r.status).toBe(401);
  });

  it('does not let a captured Authorization header replay, on another URI or on the same one', async () => {
    const first = await curl(['--digest', '-u', `${DEVICE}:${SECRET}`, ...json, '-d', register, viid('/VIID/System/Register')]);
    expect(first.status).toBe(200);
    const captured = first.authorization!;
    expect(captured).toMatch(/uri="\/VIID\/System\/Register"/);
    const elsewhere = await curl([
      '-H',
      `Authorization: ${captured}`,
      ...json,
      '-d',
      JSON.stringify({ KeepaliveObject: { DeviceID: DEVICE } }),
      viid('/VIID/System/Keepalive'),
    ]);
    expect(elsewhere.status).toBe(401);
    const again = await curl(['-H', `Authorization: ${captured}`, ...json, '-d', register, viid('/VIID/System/Register')]);
    expect(again.status).toBe(401);
  });

  it('challenges on an unknown /VIID path, and answers it 404 in GA/T 1400 form once signed in', async () => {
    const bare = await curl([viid('/VIID/NoSuchThing')]);
    expect(bare.status).toBe(401);
    expect(bare.challenge).toMatch(/^Digest /);
    const signed = await curl(['--digest', '-u', `${DEVICE}:${SECRET}`, viid('/VIID/NoSuchThing')]);
    expect(signed.status).toBe(404);
    expect(JSON.parse(signed.body)).toMatchObject({ ResponseStatusObject: { RequestURL: '/VIID/NoSuchThing', StatusCode: 4 } });
  });
});
