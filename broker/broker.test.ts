import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { waitFor } from '../test/helpers/servers.js';
import { DeviceBroker } from './broker.js';

const devices = ['smoke-01', 'smoke-02'].map((id) => ({
  info: { id, kind: 'smoke-alarm', grid: '110105001002001' },
  kind: smokeAlarm,
  secret: `secret-of-${id}`,
  options: {},
}));

let broker: DeviceBroker;
let url: string;
let counters: Counters;
let received: Array<{ device: string; channel: string; payload: string }>;
let presence: Array<[string, boolean]>;

beforeEach(async () => {
  counters = new Counters();
  received = [];
  presence = [];
  broker = new DeviceBroker({
    host: '127.0.0.1',
    port: 0,
    brokerId: 'test',
    devices,
    counters,
    log: createLogger('silent'),
    onMessage: (session, channel, payload) => void received.push({ device: session.device.id, channel, payload: payload.toString() }),
    onPresence: (session, connected) => presence.push([session.device.id, connected]),
  });
  url = `mqtt://127.0.0.1:${await broker.start()}`;
});

afterEach(async () => {
  await broker.stop();
});

function connectRaw(opts: mqtt.IClientOptions): Promise<{ error?: Error & { code?: number }; client: mqtt.MqttClient }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...opts });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (error) => {
      client.end(true);
      resolve({ error, client });
    });
  });
}

describe('device broker', () => {
  it('accepts a device with its own id and secret and hands its messages over before the PUBACK', async () => {
    const alarm = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    await alarm.connect();
    await alarm.alarm(2);
    // publish() resolved on PUBACK, so the message must already be with the gateway.
    expect(received.map((r) => [r.device, r.channel])).toEqual([
      ['smoke-01', 'status'],
      ['smoke-01', 'event'],
    ]);
    expect(presence).toEqual([['smoke-01', true]]);
    await alarm.disconnect();
    await waitFor('disconnect seen', () => (presence.length === 2 ? true : undefined));
    expect(presence[1]).toEqual(['smoke-01', false]);
  });

  it('refuses anonymous clients', async () => {
    const { error } = await connectRaw({ clientId: 'smoke-01' });
    expect(error?.code).toBe(4);
    expect(counters.get('broker_auth_refused_total', { reason: 'anonymous' })).toBe(1);
  });

  it('refuses a wrong password and an unknown device with the same answer, counting each reason', async () => {
    const wrong = await connectRaw({ clientId: 'smoke-01', username: 'smoke-01', password: 'not-the-secret' });
    const unknown = await connectRaw({ clientId: 'ghost', username: 'ghost', password: 'whatever-secret' });
    expect(wrong.error?.code).toBe(4);
    expect(unknown.error?.code).toBe(4);
    expect(counters.get('broker_auth_refused_total', { reason: 'bad_password' })).toBe(1);
    expect(counters.get('broker_auth_refused_total', { reason: 'unknown_device' })).toBe(1);
  });

  it("refuses a device that borrows another device's client id", async () => {
    const { error } = await connectRaw({ clientId: 'smoke-02', username: 'smoke-01', password: 'secret-of-smoke-01' });
    expect(error?.code).toBe(2);
    expect(counters.get('broker_auth_refused_total', { reason: 'client_id_mismatch' })).toBe(1);
  });

  it("closes a device that publishes under another device's id, and keeps serving the others", async () => {
    const intruder = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    const neighbour = new SimulatedSmokeAlarm({ url, id: 'smoke-02', secret: 'secret-of-smoke-02' });
    await intruder.connect();
    await neighbour.connect();
    received.length = 0;
    const closed = intruder.closed();
    void intruder.publish('dev/smoke-02/event', JSON.stringify({ event: 'alarm' })).catch(() => undefined);
    await closed;
    expect(counters.get('broker_publish_denied_total')).toBe(1);
    await neighbour.alarm(1);
    // The intruder's own Will (dev/smoke-01/status) is legitimate; nothing may arrive as smoke-02 but the neighbour's alarm.
    expect(received.filter((r) => r.device === 'smoke-02' || r.channel === 'event')).toEqual([
      { device: 'smoke-02', channel: 'event', payload: expect.stringContaining('"alarm"') },
    ]);
    await neighbour.disconnect();
    intruder.kill();
  });

  it('refuses topics of its own id that its kind does not declare', async () => {
    const device = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    await device.connect();
    await expect(
      Promise.race([
        device.publish('dev/smoke-01/firmware', 'x'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no puback')), 1000)),
      ]),
    ).rejects.toThrow();
    expect(counters.get('broker_publish_denied_total')).toBe(1);
    device.kill();
  });

  it('grants a device its own command topic and denies anything else with SUBACK 0x80', async () => {
    const device = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    await device.connect();
    expect(await device.subscribe('dev/smoke-01/cmd')).toEqual([1]);
    expect(await device.subscribe('#')).toEqual([128]);
    expect(await device.subscribe('dev/smoke-02/cmd')).toEqual([128]);
    expect(counters.get('broker_subscribe_denied_total')).toBe(2);
    expect(device.connected).toBe(true);
    await device.disconnect();
  });

  it("delivers commands the gateway publishes to the device's command topic", async () => {
    const device = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    await device.connect();
    await device.subscribe('dev/smoke-01/cmd');
    const got = new Promise<string>((resolve) => device.onMessage((_t, p) => resolve(p.toString())));
    await broker.publishToDevice('dev/smoke-01/cmd', '{"cmd":"silence"}');
    expect(await got).toBe('{"cmd":"silence"}');
    await device.disconnect();
  });

  it("passes the device's Last Will to the gateway when it drops off", async () => {
    const device = new SimulatedSmokeAlarm({ url, id: 'smoke-01', secret: 'secret-of-smoke-01' });
    await device.connect();
    device.kill();
    const will = await waitFor('the will', () => received.find((r) => r.channel === 'status' && r.payload.includes('offline')));
    expect(will.device).toBe('smoke-01');
  });

  it('reports a port that is in use in plain words', async () => {
    const port = Number(new URL(url).port);
    const second = new DeviceBroker({
      host: '127.0.0.1',
      port,
      brokerId: 'b',
      devices: [],
      counters,
      log: createLogger('silent'),
      onMessage: () => undefined,
    });
    await expect(second.start()).rejects.toThrow(`the device broker cannot listen on 127.0.0.1:${port}`);
    await second.stop();
  });
});
