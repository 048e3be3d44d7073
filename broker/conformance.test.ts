/**
 * MQTT 3.1.1 points where aedes is loose or where gridedge tightens it, each against the spec's
 * normative statement, with real clients.
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { waitFor } from '../test/helpers/servers.js';
import { DeviceBroker } from './broker.js';

let broker: DeviceBroker;
let url: string;
const received: string[] = [];

beforeAll(async () => {
  broker = new DeviceBroker({
    host: '127.0.0.1',
    port: 0,
    brokerId: 'conf',
    counters: new Counters(),
    log: createLogger('silent'),
    statsIntervalSeconds: 0,
    devices: [
      { info: { id: 'smoke-1', kind: 'smoke-alarm', grid: '110105001002001' }, kind: smokeAlarm, secret: 'secret-of-smoke-1', options: {} },
    ],
    accounts: [{ username: 'screen', password: 'screen-password-1', acl: [{ action: 'allow', access: 'subscribe', topic: 'dev/#' }] }],
    onMessage: (_s, channel, payload) => void received.push(`${channel}:${payload.toString()}`),
  });
  url = `mqtt://127.0.0.1:${await broker.start()}`;
});
afterAll(async () => {
  await broker?.stop();
});

describe('MQTT 3.1.1 conformance', () => {
  // aedes alone delivers one copy at the QoS of the first matching subscription (0 here);
  // broker/delivery-qos.ts makes it the highest granted.
  it('MQTT-3.3.5-1: overlapping subscriptions deliver a message once, at the highest granted QoS', async () => {
    const s = await mqtt.connectAsync(url, { clientId: 'screen-a', username: 'screen', password: 'screen-password-1', reconnectPeriod: 0 });
    const got: Array<{ topic: string; qos: number }> = [];
    s.on('message', (topic, _p, packet) => got.push({ topic, qos: packet.qos }));
    await s.subscribeAsync('dev/#', { qos: 0 });
    await s.subscribeAsync('dev/+/telemetry', { qos: 1 });
    const d = new SimulatedSmokeAlarm({ url, id: 'smoke-1', secret: 'secret-of-smoke-1' });
    await d.connect();
    await d.telemetry();
    await waitFor('the delivery', () => got.find((g) => g.topic === 'dev/smoke-1/telemetry'));
    await new Promise((r) => setTimeout(r, 200)); // room for a second copy to show up, if any
    expect(got.filter((g) => g.topic === 'dev/smoke-1/telemetry')).toEqual([{ topic: 'dev/smoke-1/telemetry', qos: 1 }]);
    await d.disconnect();
    await s.endAsync();
  });

  it('MQTT-3.8.4-6: a message goes out at the lower of its own QoS and the QoS granted, through wildcards too', async () => {
    const s = await mqtt.connectAsync(url, { clientId: 'screen-b', username: 'screen', password: 'screen-password-1', reconnectPeriod: 0 });
    const got: number[] = [];
    s.on('message', (_t, _p, packet) => got.push(packet.qos));
    await s.subscribeAsync('dev/+/event', { qos: 1 });
    const d = await mqtt.connectAsync(url, { clientId: 'smoke-1', username: 'smoke-1', password: 'secret-of-smoke-1', reconnectPeriod: 0 });
    await d.publishAsync('dev/smoke-1/event', JSON.stringify({ event: 'test' }), { qos: 2 }); // granted 1: goes out at 1
    await d.publishAsync('dev/smoke-1/event', JSON.stringify({ event: 'test' }), { qos: 0 }); // published at 0: stays 0
    await waitFor('both deliveries', () => got.length >= 2 || undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([1, 0]);
    await d.endAsync();
    await s.endAsync();
  });

  it('MQTT-4.3.3: QoS 2 from a device reaches the gateway exactly once, PUBREC/PUBREL/PUBCOMP completed', async () => {
    const c = await mqtt.connectAsync(url, { clientId: 'smoke-1', username: 'smoke-1', password: 'secret-of-smoke-1', reconnectPeriod: 0 });
    received.length = 0;
    await c.publishAsync('dev/smoke-1/event', JSON.stringify({ event: 'test' }), { qos: 2 }); // resolves on PUBCOMP
    expect(received).toEqual(['event:{"event":"test"}']);
    await c.endAsync();
  });

  it('MQTT-3.1.2-24: a client silent for 1.5 keep-alive periods is disconnected', async () => {
    // Raw CONNECT with keep-alive 1 s, then silence (mqtt.js would send PINGREQs).
    const str = (t: string) => [0, Buffer.byteLength(t), ...Buffer.from(t)];
    const body = [...str('MQTT'), 4, 0xc2, 0, 1, ...str('smoke-1'), ...str('smoke-1'), ...str('secret-of-smoke-1')];
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const connack = new Promise<Buffer>((r) => socket.once('data', r));
    socket.write(Buffer.from([0x10, body.length, ...body]));
    expect([...(await connack).subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    const silentFor = Date.now() - started;
    expect(silentFor).toBeGreaterThanOrEqual(1400);
    expect(silentFor).toBeLessThan(5000);
  });

  it('MQTT-3.1.3-8: a zero-length client id with clean session 0 is refused with CONNACK 2, for a service account too', async () => {
    const str = (t: string) => [0, Buffer.byteLength(t), ...Buffer.from(t)];
    const connack = async (flags: number) => {
      // CONNECT, MQTT 3.1.1, user name + password flags, keep-alive 30 s, client id "".
      const body = [...str('MQTT'), 4, flags, 0, 30, ...str(''), ...str('screen'), ...str('screen-password-1')];
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
      const reply = new Promise<Buffer>((r) => socket.once('data', r));
      socket.write(Buffer.from([0x10, body.length, ...body]));
      const bytes = [...(await reply).subarray(0, 4)];
      socket.destroy();
      return bytes;
    };
    expect(await connack(0xc0)).toEqual([0x20, 0x02, 0x00, 0x02]); // clean session 0: identifier rejected
    expect(await connack(0xc2)).toEqual([0x20, 0x02, 0x00, 0x00]); // clean session 1: the broker assigns an id [MQTT-3.1.3-6]
  });
});
