/** The API and console over HTTPS, as a browser or curl reaches them: the site's certificate, no plain HTTP on that port. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const TOKEN = 'https-read-token-0123456789';
let certs: TestCerts;
let t: TestGateway;

beforeAll(async () => {
  certs = makeCerts(await tempDir('api-tls'));
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tls: { cert: certs.cert, key: certs.key }, tokens: [{ name: 'ops', token: TOKEN, role: 'read' }] },
  });
}, 30_000);
afterAll(async () => {
  await t?.stop();
});

const curl = async (args: string[]) => {
  const r = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' }).catch(
    (e: { stdout?: string; code?: number }) => ({
      stdout: e.stdout ?? '',
      failed: e.code,
    }),
  );
  const lines = r.stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n'), failed: 'failed' in r ? r.failed : 0 };
};

describe('API over HTTPS', () => {
  it('answers with the configured certificate, token routes included', async () => {
    const port = t.gateway.ports!.api;
    const health = await curl(['--cacert', certs.ca, `https://127.0.0.1:${port}/healthz`]);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ gatewayId: 'gw-test' });
    const devices = await curl(['--cacert', certs.ca, '-H', `Authorization: Bearer ${TOKEN}`, `https://127.0.0.1:${port}/api/devices`]);
    expect(devices.status).toBe(200);
    const page = await curl(['--cacert', certs.ca, `https://127.0.0.1:${port}/`]);
    expect(page.body).toContain('<html');
  });

  it('serves no plain HTTP on that port, and a client that does not trust the certificate is refused', async () => {
    const port = t.gateway.ports!.api;
    expect((await curl([`http://127.0.0.1:${port}/healthz`])).status).not.toBe(200);
    expect((await curl([`https://127.0.0.1:${port}/healthz`])).failed).toBe(60); // curl: peer certificate cannot be authenticated
  });
});
