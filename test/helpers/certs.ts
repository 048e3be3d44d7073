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
