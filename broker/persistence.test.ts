/** Persistent sessions and QoS 1 commands queued for an offline device survive a broker restart. */
import { afterEach, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { freePort, waitFor } from '../test/helpers/servers.js';
import { tempDir } from '../test/helpers/tmp.js';
import { DeviceBroker } from './broker.js';

const devices = [
  { info: { id: 'smoke-1', kind: 'smoke-alarm', grid: '110105001002001' }, kind: smokeAlarm, secret: 'secret-of-smoke-1', options: {} },
];
let broker: DeviceBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

async function start(dir: string, port: number): Promise<DeviceBroker> {
  const b = new DeviceBroker({
    host: '127.0.0.1',
    port,
    brokerId: 'persist',
    devices,
    counters: new Counters(),
    log: createLogger('silent'),
    statsIntervalSeconds: 0,
    persistenceDir: dir,
    onMessage: () => undefined,
  });
  await b.start();
  return b;
}

describe('broker persistence', () => {
  it("keeps a persistent session's subscription and its queued QoS 1 commands across a restart", async () => {
    const dir = await tempDir('broker-db');
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    broker = await start(dir, port);
    const first = new SimulatedSmokeAlarm({ url, id: 'smoke-1', secret: 'secret-of-smoke-1', clean: false });
    await first.connect();
    expect(await first.subscribe('dev/smoke-1/cmd')).toEqual([1]);
    await first.disconnect();

    // While the device is away: a command, then the gateway restarts.
    await broker.publishToDevice('dev/smoke-1/cmd', JSON.stringify({ id: 'c1', cmd: 'silence' }), 1);
    await broker.stop();
    broker = await start(dir, port);

    const again = new SimulatedSmokeAlarm({ url, id: 'smoke-1', secret: 'secret-of-smoke-1', clean: false });
    const got: string[] = [];
    again.onMessage((_t, p) => got.push(p.toString())); // before connecting: the queued command comes with the session
    await again.connect();
    // Its subscription came back with it: a command sent after the restart arrives without subscribing.
    await broker.publishToDevice('dev/smoke-1/cmd', JSON.stringify({ id: 'c2', cmd: 'self_test' }), 1);
    await waitFor('both commands', () => (got.some((g) => g.includes('c2')) ? true : undefined));
    expect(got.map((g) => (JSON.parse(g) as { id: string }).id)).toEqual(['c1', 'c2']);
    await again.disconnect();
  });
});
