/** Two gateway processes of an HA pair on one Redis, as the HA tests run them. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gridedge, type Run } from './cli.js';
import { freePort, waitFor } from './servers.js';
import { tempDir } from './tmp.js';

export interface PairNode {
  name: string;
  broker: number;
  api: number;
  /** The device broker's URL. */
  url: string;
  run?: Run;
}

export interface Pair {
  a: PairNode;
  b: PairNode;
  /** Starts the node's process and waits until it is ready. */
  start(node: PairNode): Promise<Run>;
  /** The node's view of the pair, from its /healthz. */
  cluster(node: PairNode): Promise<{ node: string; leader: boolean } | undefined>;
  /** The node's view of a device, from its API. */
  device(node: PairNode, id: string): Promise<{ online: boolean; lastSeen?: string }>;
}

export const deviceSecret = (id: string): string => `secret-of-${id}`;
export const PAIR_TOKEN = 'ha-pair-test-token-0123456789';

export async function pairOf(opts: {
  gatewayId: string;
  redis: string;
  upstream: string;
  devices: Array<{ id: string; kind: string }>;
  leaseSeconds?: number;
}): Promise<Pair> {
  const dir = await tempDir('ha');
  const node = async (name: string): Promise<PairNode & { file: string }> => {
    const [broker, api] = [await freePort(), await freePort()];
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        'gateway:',
        `  id: ${opts.gatewayId}`,
        '  grid: "110105001002000"',
        `  dataDir: ./data-${name}`,
        '  logLevel: warn',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${broker}`,
        '  maxPublishPerSecond: 100000',
        '  publishBurst: 100000',
        'api:',
        `  port: ${api}`,
        '  tokens:',
        `    - { name: test, token: ${PAIR_TOKEN}, role: read }`,
        'upstream:',
        `  url: ${opts.upstream}`,
        'cluster:',
        `  redis: ${opts.redis}`,
        `  node: ${name}`,
        `  leaseSeconds: ${opts.leaseSeconds ?? 2}`,
        '  heartbeatSeconds: 1',
        'devices:',
        ...opts.devices.flatMap((d) => [`  - id: ${d.id}`, `    kind: ${d.kind}`, `    secret: ${deviceSecret(d.id)}`]),
      ].join('\n'),
    );
    return { name, broker, api, url: `mqtt://127.0.0.1:${broker}`, file };
  };
  const [a, b] = [await node('a'), await node('b')];
  return {
    a,
    b,
    async start(n) {
      const run = gridedge(['start', '--config', (n as typeof a).file], {}, 600_000);
      n.run = run;
      // A node that dies by itself (not killed by the test) says why, or the test only sees refused connections.
      void run.code.then((code) => {
        if (code !== 0 && code !== null) console.error(`node ${n.name} exited with ${code}:\n${run.stderr().slice(-4000)}`);
      });
      await waitFor(
        `node ${n.name} up`,
        () =>
          fetch(`http://127.0.0.1:${n.api}/readyz`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        20_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${run.stderr().slice(-2000)}${run.stdout().slice(-2000)}`);
      });
      return run;
    },
    async device(n, id) {
      const res = await fetch(`http://127.0.0.1:${n.api}/api/devices/${id}`, { headers: { authorization: `Bearer ${PAIR_TOKEN}` } });
      if (!res.ok) throw new Error(`GET /api/devices/${id} on node ${n.name}: HTTP ${res.status}`);
      return (await res.json()) as { online: boolean; lastSeen?: string };
    },
    async cluster(n) {
      const res = await fetch(`http://127.0.0.1:${n.api}/healthz`);
      return ((await res.json()) as { cluster?: { node: string; leader: boolean } }).cluster;
    },
  };
}
