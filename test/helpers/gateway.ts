/**
 * A gateway on free loopback ports for device-kind tests: devices over real MQTT into its
 * embedded broker, incident messages collected as they are made (validated against the
 * committed schema), stopped by the test.
 */
import { Writable } from 'node:stream';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import { assertIncident } from './incident-schema.js';
import { waitFor } from './servers.js';
import { tempDir } from './tmp.js';

export interface TestGateway {
  gateway: Gateway;
  brokerUrl: string;
  apiUrl: string;
  incidents: IncidentMessage[];
  logs: () => string;
  /** The first incident message (after `from`) that matches. */
  waitForIncident(what: string, match: (m: IncidentMessage) => boolean, from?: number, timeoutMs?: number): Promise<IncidentMessage>;
  stop(): Promise<void>;
}

export async function startTestGateway(
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  baseDir?: string,
): Promise<TestGateway> {
  const dataDir = await tempDir('gw');
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      logs = (logs + chunk.toString()).slice(-200_000);
      done();
    },
  });
  const gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-test', grid: '110105001002000', dataDir, logLevel: 'debug' },
        broker: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0 },
        ...config,
      },
      'test',
      baseDir ?? dataDir,
      env,
    ),
    createLogger('debug', sink),
  );
  const incidents: IncidentMessage[] = [];
  gateway.onIncident((m) => incidents.push(assertIncident(structuredClone(m))));
  const ports = await gateway.start();
  return {
    gateway,
    brokerUrl: `mqtt://127.0.0.1:${ports.broker}`,
    apiUrl: `http://127.0.0.1:${ports.api}`,
    incidents,
    logs: () => logs,
    waitForIncident: (what, match, from = 0, timeoutMs = 5000) => waitFor(what, () => incidents.slice(from).find(match), timeoutMs),
    stop: () => gateway.stop(),
  };
}

/** Payloads a broken or hostile device might send: each must be refused and counted, nothing more. */
export function hostilePayloads(): Array<[string, Buffer]> {
  return [
    ['binary garbage', Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x37, 0x00])],
    ['truncated JSON', Buffer.from('{"a": ')],
    ['a JSON array', Buffer.from('[1,2,3]')],
    ['JSON null', Buffer.from('null')],
    ['a bare number', Buffer.from('42')],
    ['wrong types everywhere', Buffer.from(JSON.stringify({ ts: 'yesterday', battery: 'full', event: 7, state: [], lel: '5', tagId: 1 }))],
    ['huge numbers', Buffer.from(JSON.stringify({ ts: 1e300, battery: 1e308, lel: 1e308, smokeDensity: -1e308 }))],
    ['an empty object', Buffer.from('{}')],
    ['prototype pollution', Buffer.from('{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}')],
    ['a 200 KiB payload', Buffer.alloc(200 * 1024, 0x7b)],
  ];
}
