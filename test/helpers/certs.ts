/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl for TLS tests. */
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
  /** A device's certificate signed by the same CA (CN = the device id given). */
  clientCert: string;
  clientKey: string;
}

export function makeCerts(dir: string, clientId = 'device-1'): TestCerts {
  chmodSync(dir, 0o755); // mosquitto reads these after dropping root
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=gridedge test CA');
  openssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
  );
  chmodSync(f('server.key'), 0o644); // a throwaway key, readable by the mosquitto user
  openssl('req', ...ec, '-keyout', f('client.key'), '-out', f('client.csr'), '-subj', `/CN=${clientId}`);
  openssl(
    'x509',
    '-req',
    '-in',
    f('client.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('client.crt'),
    '-days',
    '1',
  );
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

/** Another device's certificate from the same CA (CN = `id`, and the id as a SAN too when `san`). */
export function makeClientCert(dir: string, id: string, san = false): { cert: string; key: string } {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', ...ec, '-keyout', f(`${id}.key`), '-out', f(`${id}.csr`), '-subj', san ? '/O=gridedge test devices' : `/CN=${id}`);
  const ext = san ? ['-extfile', f(`${id}.ext`)] : [];
  if (san) writeFileSync(f(`${id}.ext`), `subjectAltName=DNS:${id}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    f(`${id}.csr`),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f(`${id}.crt`),
    '-days',
    '1',
    ...ext,
  );
  return { cert: f(`${id}.crt`), key: f(`${id}.key`) };
}

/** A CRL signed by the test CA that revokes the given certificates (openssl ca with a throwaway database). */
export function makeCrl(dir: string, revoked: string[]): string {
  const f = (name: string) => path.join(dir, name);
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('crlnumber'), '01\n');
  writeFileSync(
    f('ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `database = ${f('index.txt')}`,
      `crlnumber = ${f('crlnumber')}`,
      `certificate = ${f('ca.crt')}`,
      `private_key = ${f('ca.key')}`,
      'default_md = sha256',
      'default_crl_days = 1',
      '',
    ].join('\n'),
  );
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  for (const cert of revoked) openssl('ca', '-config', f('ca.cnf'), '-revoke', cert);
  openssl('ca', '-config', f('ca.cnf'), '-gencrl', '-out', f('revoked.crl'));
  return f('revoked.crl');
}
