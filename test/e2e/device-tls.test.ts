/**
 * Devices over MQTTS: a TLS listener beside the plain one, with the same accounts and ACLs;
 * optionally devices must present a certificate from the site's CA. Certificates made here.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

let certs: TestCerts;
let t: TestGateway;
let strict: TestGateway;
const devices = [{ id: 'smoke-tls-1', kind: 'smoke-alarm', secret: 'tls-secret-1' }];

beforeAll(async () => {
  certs = makeCerts(await tempDir('device-tls'), 'smoke-tls-1');
  t = await startTestGateway({ broker: { host: '127.0.0.1', port: 0, tls: { port: 0, cert: certs.cert, key: certs.key } }, devices });
  strict = await startTestGateway({
    broker: { host: '127.0.0.1', port: 0, tls: { port: 0, cert: certs.cert, key: certs.key, ca: certs.ca, requireClientCert: true } },
    devices,
  });
}, 30_000);
afterAll(async () => {
  await t?.stop();
  await strict?.stop();
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
});
