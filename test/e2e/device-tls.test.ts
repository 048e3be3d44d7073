/**
 * Devices over MQTTS: a TLS listener beside the plain one, with the same accounts and ACLs;
 * optionally devices must present a certificate from the site's CA. Certificates made here.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { makeCerts, makeClientCert, makeCrl, type TestCerts } from '../helpers/certs.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

let certs: TestCerts;
let t: TestGateway;
let strict: TestGateway;
let revoking: TestGateway;
let second: { cert: string; key: string };
let bySan: { cert: string; key: string };
let revoked: { cert: string; key: string };
const devices = [
  { id: 'smoke-tls-1', kind: 'smoke-alarm', secret: 'tls-secret-1' },
  { id: 'smoke-tls-2', kind: 'smoke-alarm', secret: 'tls-secret-2' },
  { id: 'smoke-tls-3', kind: 'smoke-alarm', secret: 'tls-secret-3' },
];

beforeAll(async () => {
  const dir = await tempDir('device-tls');
  certs = makeCerts(dir, 'smoke-tls-1');
  second = makeClientCert(dir, 'smoke-tls-2');
  bySan = makeClientCert(dir, 'smoke-tls-3', true);
  revoked = makeClientCert(dir, 'smoke-tls-revoked');
  const crl = makeCrl(dir, [revoked.cert]);
  revoking = await startTestGateway({
    broker: { host: '127.0.0.1', port: 0, tls: { port: 0, cert: certs.cert, key: certs.key, ca: certs.ca, requireClientCert: true, crl } },
    devices: [...devices, { id: 'smoke-tls-revoked', kind: 'smoke-alarm', secret: 'tls-secret-r' }],
  });
  t = await startTestGateway({ broker: { host: '127.0.0.1', port: 0, tls: { port: 0, cert: certs.cert, key: certs.key } }, devices });
  strict = await startTestGateway({
    broker: { host: '127.0.0.1', port: 0, tls: { port: 0, cert: certs.cert, key: certs.key, ca: certs.ca, requireClientCert: true } },
    devices,
  });
}, 30_000);
afterAll(async () => {
  await t?.stop();
  await strict?.stop();
  await revoking?.stop();
});

const tlsUrl = (g: TestGateway) => `mqtts://127.0.0.1:${g.gateway.ports?.brokerTls}`;

describe('device MQTTS listener', () => {
  it('takes a device over TLS (same account, same pipeline) while the plain listener still serves', async () => {
    const alarm = new SimulatedSmokeAlarm({
      url: tlsUrl(t),
      id: 'smoke-tls-1',
      secret: 'tls-secret-1',
      tls: { ca: readFileSync(certs.ca) },
    });
    await alarm.connect();
    const from = t.incidents.length;
    await alarm.alarm(3);
    const m = await t.waitForIncident('alarm over TLS', (x) => x.category === 'fire.smoke_alarm', from);
    expect(m.devices[0]!.id).toBe('smoke-tls-1');
    await alarm.clear();
    await alarm.disconnect();
    const plain = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-tls-1', secret: 'tls-secret-1' });
    await plain.connect();
    await plain.disconnect();
  });

  it('refuses a wrong password over TLS too, and a device that does not trust the certificate never connects', async () => {
    await expect(
      new SimulatedSmokeAlarm({ url: tlsUrl(t), id: 'smoke-tls-1', secret: 'wrong-secret', tls: { ca: readFileSync(certs.ca) } }).connect(),
    ).rejects.toThrow(/Bad username or password|Not authorized/);
    await expect(new SimulatedSmokeAlarm({ url: tlsUrl(t), id: 'smoke-tls-1', secret: 'tls-secret-1', tls: {} }).connect()).rejects.toThrow(
      /certificate/,
    );
  });

  it('with requireClientCert, takes only devices presenting a certificate from the site CA, and counts the refusals', async () => {
    const ca = readFileSync(certs.ca);
    await expect(
      new SimulatedSmokeAlarm({ url: tlsUrl(strict), id: 'smoke-tls-1', secret: 'tls-secret-1', tls: { ca } }).connect(),
    ).rejects.toThrow();
    const withCert = new SimulatedSmokeAlarm({
      url: tlsUrl(strict),
      id: 'smoke-tls-1',
      secret: 'tls-secret-1',
      tls: { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
    });
    await withCert.connect();
    await withCert.telemetry();
    await withCert.disconnect();
    expect(strict.gateway.counters.total('broker_tls_refused_total')).toBeGreaterThan(0);
  });

  it("with requireClientCert, takes a device only with its own certificate (CN or SAN = its id), not another device's", async () => {
    const ca = readFileSync(certs.ca);
    const as = (id: string, secret: string, c: { cert: string; key: string }) =>
      new SimulatedSmokeAlarm({ url: tlsUrl(strict), id, secret, tls: { ca, cert: readFileSync(c.cert), key: readFileSync(c.key) } });
    // smoke-tls-2's own password, smoke-tls-1's certificate (from the same site CA): refused.
    await expect(as('smoke-tls-2', 'tls-secret-2', { cert: certs.clientCert, key: certs.clientKey }).connect()).rejects.toThrow(
      /Not authorized/,
    );
    expect(strict.gateway.counters.get('broker_auth_refused_total', { reason: 'certificate_of_another' })).toBe(1);
    const own = as('smoke-tls-2', 'tls-secret-2', second);
    await own.connect();
    await own.disconnect();
    const san = as('smoke-tls-3', 'tls-secret-3', bySan);
    await san.connect();
    await san.disconnect();
  });

  it('refuses at the handshake a certificate the CRL revokes, and takes the others', async () => {
    const ca = readFileSync(certs.ca);
    const url = tlsUrl(revoking);
    const before = revoking.gateway.counters.total('broker_tls_refused_total');
    await expect(
      new SimulatedSmokeAlarm({
        url,
        id: 'smoke-tls-revoked',
        secret: 'tls-secret-r',
        tls: { ca, cert: readFileSync(revoked.cert), key: readFileSync(revoked.key) },
      }).connect(),
    ).rejects.toThrow();
    expect(revoking.gateway.counters.total('broker_tls_refused_total')).toBeGreaterThan(before);
    const fine = new SimulatedSmokeAlarm({
      url,
      id: 'smoke-tls-2',
      secret: 'tls-secret-2',
      tls: { ca, cert: readFileSync(second.cert), key: readFileSync(second.key) },
    });
    await fine.connect();
    await fine.disconnect();
  });
});
