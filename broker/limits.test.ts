/** The broker's limits with a real client: each breach refused, counted, and nothing else disturbed. */
import net from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { waitFor } from '../test/helpers/servers.js';
import { DeviceBroker, type BrokerLimits } from './broker.js';
import { PacketSizeGuard, RateLimiter } from './limits.js';

const devices = ['smoke-1', 'smoke-2', 'smoke-3'].map((id) => ({
  info: { id, kind: 'smoke-alarm', grid: '110105001002001' },
  kind: smokeAlarm,
  secret: `secret-of-${id}`,
  options: {},
}));

let broker: DeviceBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

async function start(limits: Partial<BrokerLimits>): Promise<{ url: string; counters: Counters; received: string[] }> {
  const counters = new Counters();
  const received: string[] = [];
  broker = new DeviceBroker({
    host: '127.0.0.1',
    port: 0,
    brokerId: 'limits',
    devices,
    counters,
    limits,
    log: createLogger('silent'),
    onMessage: (_s, channel, payload) => void received.push(`${channel}:${payload.length}`),
  });
  return { url: `mqtt://127.0.0.1:${await broker.start()}`, counters, received };
}

const alarm = (url: string, id = 'smoke-1') => new SimulatedSmokeAlarm({ url, id, secret: `secret-of-${id}` });

describe('packet size guard', () => {
  it('reads MQTT remaining lengths across chunk boundaries and refuses the first packet over the limit', async () => {
    const breaches: number[] = [];
    const guard = new PacketSizeGuard(200, (n) => breaches.push(n));
    const passed: Buffer[] = [];
    guard.on('data', (d: Buffer) => passed.push(d));
    let error: Error | undefined;
    guard.on('error', (e) => (error = e));
    // PINGREQ (0 bytes), then a PUBLISH of 150 bytes split mid-header, then one of 16384 bytes.
    guard.write(Buffer.from([0xc0, 0x00, 0x30]));
    guard.write(Buffer.from([0x96, 0x01, ...Buffer.alloc(150)]));
    expect(breaches).toEqual([]);
    guard.write(Buffer.from([0x30, 0x80, 0x80, 0x01]));
    await new Promise((r) => setImmediate(r));
    expect(breaches).toEqual([16384]);
    expect(error?.message).toMatch(/16384 bytes exceeds the limit of 200/);
    expect(Buffer.concat(passed).length).toBe(3 + 152);
  });
});

describe('rate limiter', () => {
  it('allows the burst, then the average rate', () => {
    let t = 0;
    const r = new RateLimiter(2, 3, () => t);
    expect([1, 2, 3, 4].map(() => r.take('d'))).toEqual([true, true, true, false]);
    t += 500; // one token back
    expect([r.take('d'), r.take('d')]).toEqual([true, false]);
    expect(r.take('other')).toBe(true);
  });
});

describe('broker limits', () => {
  it('closes a connection that sends a packet over maxPacketBytes, and keeps serving others', async () => {
    const { url, counters, received } = await start({ maxPacketBytes: 4096 });
    const big = alarm(url);
    const small = alarm(url, 'smoke-2');
    await big.connect();
    await small.connect();
    const closed = big.closed();
    void big.publish(big.topic('telemetry'), Buffer.alloc(10_000, 0x20)).catch(() => undefined);
    await closed;
    expect(counters.get('broker_limit_breaches_total', { limit: 'packet_size' })).toBe(1);
    await small.telemetry();
    expect(received.at(-1)).toMatch(/^telemetry:/);
    await small.disconnect();
  });

  it('refuses connections beyond maxConnections', async () => {
    const { url, counters } = await start({ maxConnections: 2 });
    const a = alarm(url, 'smoke-1');
    const b = alarm(url, 'smoke-2');
    await a.connect();
    await b.connect();
    await expect(alarm(url, 'smoke-3').connect()).rejects.toThrow();
    expect(counters.get('broker_limit_breaches_total', { limit: 'connections' })).toBe(1);
    await a.disconnect();
    await waitFor('the slot freed', async () => {
      const c = alarm(url, 'smoke-3');
      try {
        await c.connect();
        await c.disconnect();
        return true;
      } catch {
        return undefined;
      }
    });
    await b.disconnect();
  });

  it('closes a device that publishes faster than allowed', async () => {
    const { url, counters } = await start({ maxPublishPerSecond: 5, publishBurst: 10 });
    const noisy = alarm(url);
    await noisy.connect(); // its online status is publish 1
    const closed = noisy.closed();
    for (let i = 0; i < 20; i++) void noisy.telemetry().catch(() => undefined);
    await closed;
    // Every publish refused is counted; those already on the wire when the link closed count too.
    expect(counters.get('broker_limit_breaches_total', { limit: 'publish_rate' })).toBeGreaterThanOrEqual(1);
  });

  it('drops a connection that never sends CONNECT within connectTimeoutMs', async () => {
    const { url } = await start({ connectTimeoutMs: 300 });
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const closedAt = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    expect(closedAt).toBeGreaterThan(0);
  });

  it('refuses a keep-alive longer than maxKeepaliveSeconds', async () => {
    const { url } = await start({ maxKeepaliveSeconds: 60 });
    const c = mqtt.connect(url, {
      clientId: 'smoke-1',
      username: 'smoke-1',
      password: 'secret-of-smoke-1',
      keepalive: 600,
      reconnectPeriod: 0,
    });
    const err = await new Promise<Error & { code?: number }>((resolve) => c.once('error', resolve));
    expect(err.code).toBe(6);
    c.end(true);
  });

  it('answers a zero-length client id with clean session 0 with CONNACK 2 (MQTT-3.1.3-8)', async () => {
    const { url } = await start({});
    // Neither mqtt.js nor mqtt-packet will send this, so the bytes are written by hand, as a broken
    // device stack would: CONNECT, MQTT 3.1.1, flags user+password and clean session 0, empty id.
    const str = (t: string) => [0, Buffer.byteLength(t), ...Buffer.from(t)];
    const body = [...str('MQTT'), 4, 0xc0, 0, 30, 0, 0, ...str('smoke-1'), ...str('secret-of-smoke-1')];
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write(Buffer.from([0x10, body.length, ...body]));
    const connack = await reply;
    expect([...connack.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x02]); // CONNACK, return code 2: identifier rejected
    socket.destroy();
  });
});
