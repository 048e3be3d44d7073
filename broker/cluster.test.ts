/**
 * Two broker nodes of an HA pair on one Redis (aedes-persistence-redis + mqemitter-redis): a
 * device's persistent session, its subscription and the QoS 1 commands queued while it was away
 * follow it from one node to the other; a command sent through either node reaches it wherever
 * it is; and the same device connecting to the second node takes its session from the first.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { freePort, startRedis, waitFor, within, type RedisServer } from '../test/helpers/servers.js';
import { DeviceBroker } from './broker.js';

const devices = [
  { info: { id: 'smoke-1', kind: 'smoke-alarm', grid: '110105001002001' }, kind: smokeAlarm, secret: 'secret-of-smoke-1', options: {} },
];
let redis: RedisServer;
const brokers: DeviceBroker[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const b of brokers) await b.stop();
  await redis.stop();
});

async function node(name: string, received: string[] = []): Promise<{ broker: DeviceBroker; url: string }> {
  const port = await freePort();
  const broker = new DeviceBroker({
    host: '127.0.0.1',
    port,
    brokerId: `pair-${name}-${randomBytes(3).toString('hex')}`,
    devices,
    counters: new Counters(),
    log: createLogger('silent'),
    statsIntervalSeconds: 0,
    cluster: { redisUrl: redis.url, node: name },
    onMessage: (session, channel, payload) => void received.push(`${session.device.id}/${channel}:${payload.toString()}`),
  });
  await broker.start();
  brokers.push(broker);
  return { broker, url: `mqtt://127.0.0.1:${port}` };
}

describe('broker pair over redis', () => {
  it('moves a persistent session, its subscription and queued commands between nodes; each message is handled once', async () => {
    const onA: string[] = [];
    const onB: string[] = [];
    const a = await within('node A up', node('a', onA));
    const b = await within('node B up', node('b', onB));
    const first = new SimulatedSmokeAlarm({ url: a.url, id: 'smoke-1', secret: 'secret-of-smoke-1', clean: false });
    await within('first connect to A', first.connect());
    expect(await within('subscribe on A', first.subscribe('dev/smoke-1/cmd'))).toEqual([1]);
    await within('telemetry on A', first.telemetry());
    await within('disconnect from A', first.disconnect());
    // Sent through B while the device is away from both.
    await within('queue c1 through B', b.broker.publishToDevice('dev/smoke-1/cmd', JSON.stringify({ id: 'c1', cmd: 'silence' }), 1));

    const again = new SimulatedSmokeAlarm({ url: b.url, id: 'smoke-1', secret: 'secret-of-smoke-1', clean: false });
    const got: string[] = [];
    again.onMessage((_t, p) => got.push(p.toString()));
    await within('connect to B', again.connect());
    // Its subscription came along: a command through A reaches it on B without subscribing again.
    await within('send c2 through A', a.broker.publishToDevice('dev/smoke-1/cmd', JSON.stringify({ id: 'c2', cmd: 'self_test' }), 1));
    await waitFor('both commands on B', () => (got.some((g) => g.includes('c2')) ? true : undefined), 10_000);
    expect(got.map((g) => (JSON.parse(g) as { id: string }).id)).toEqual(['c1', 'c2']);
    await within('telemetry on B', again.telemetry());
    // Each message went to the pipeline of the node the device sent it to, and only there.
    expect(onA.filter((m) => m.includes('/telemetry'))).toHaveLength(1);
    await waitFor('B took its telemetry', () => onB.some((m) => m.includes('/telemetry')) || undefined);
    expect(onB.filter((m) => m.includes('/telemetry'))).toHaveLength(1);
    expect(onA.filter((m) => m.includes('/telemetry'))).toHaveLength(1);

    // The same client id on A while connected to B: A takes the session, B drops the old connection.
    const third = new SimulatedSmokeAlarm({ url: a.url, id: 'smoke-1', secret: 'secret-of-smoke-1', clean: false });
    await within('connect to A again', third.connect());
    await waitFor('B closed the older connection', () => (!again.connected ? true : undefined), 10_000);
    await within('disconnect from A', third.disconnect());
  });
});
