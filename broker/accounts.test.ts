/**
 * Service accounts and their ACLs with real clients: mqtt.js, and Debian's mosquitto_pub and
 * mosquitto_sub. Wills and retained messages are held to the same rules as live ones.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { createLogger } from '../core/log.js';
import { Counters } from '../core/counters.js';
import { SimulatedSmokeAlarm } from '../sim/smoke-alarm.js';
import { waitFor } from '../test/helpers/servers.js';
import { allowed, filterCovers, topicMatches, type AclRule } from './accounts.js';
import { DeviceBroker } from './broker.js';

const run = promisify(execFile);

describe('topic patterns', () => {
  it('match topics as MQTT does, $-topics only by $-patterns', () => {
    expect(topicMatches('dev/+/telemetry', 'dev/smoke-1/telemetry')).toBe(true);
    expect(topicMatches('dev/#', 'dev/smoke-1/event')).toBe(true);
    expect(topicMatches('dev/#', 'dev')).toBe(true);
    expect(topicMatches('dev/+', 'dev/a/b')).toBe(false);
    expect(topicMatches('#', '$SYS/gridedge/uptime')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/gridedge/uptime')).toBe(true);
  });

  it('grant a subscription only when the pattern covers the whole filter', () => {
    expect(filterCovers('dev/+/telemetry', 'dev/+/telemetry')).toBe(true);
    expect(filterCovers('dev/+/telemetry', 'dev/smoke-1/telemetry')).toBe(true);
    expect(filterCovers('dev/+/telemetry', 'dev/#')).toBe(false);
    expect(filterCovers('dev/#', 'dev/+/telemetry')).toBe(true);
    expect(filterCovers('dev/smoke-1/#', 'dev/+/telemetry')).toBe(false);
  });

  it('decide by the first matching rule, with %u and %c, and deny when none matches', () => {
    const acl: AclRule[] = [
      { action: 'deny', access: 'subscribe', topic: 'dev/+/status' },
      { action: 'allow', access: 'subscribe', topic: 'dev/#' },
      { action: 'allow', access: 'both', topic: 'site/%u/%c/#' },
    ];
    expect(allowed(acl, 'subscribe', 'dev/smoke-1/status', 'screen', 'c1')).toBe(false);
    expect(allowed(acl, 'subscribe', 'dev/smoke-1/telemetry', 'screen', 'c1')).toBe(true);
    expect(allowed(acl, 'publish', 'dev/smoke-1/telemetry', 'screen', 'c1')).toBe(false);
    expect(allowed(acl, 'publish', 'site/screen/c1/hello', 'screen', 'c1')).toBe(true);
    expect(allowed(acl, 'publish', 'site/other/c1/hello', 'screen', 'c1')).toBe(false);
  });
});

let broker: DeviceBroker;
let url: string;
let port: number;
const counters = new Counters();

beforeAll(async () => {
  broker = new DeviceBroker({
    host: '127.0.0.1',
    port: 0,
    brokerId: 'acl',
    counters,
    log: createLogger('silent'),
    statsIntervalSeconds: 0,
    devices: [
      { info: { id: 'smoke-1', kind: 'smoke-alarm', grid: '110105001002001' }, kind: smokeAlarm, secret: 'secret-of-smoke-1', options: {} },
    ],
    accounts: [
      {
        username: 'screen',
        password: 'screen-password-1',
        acl: [
          { action: 'deny', access: 'subscribe', topic: 'dev/+/status' },
          { action: 'allow', access: 'subscribe', topic: 'dev/#' },
          { action: 'allow', access: 'subscribe', topic: '$SYS/gridedge/#' },
          { action: 'allow', access: 'publish', topic: 'site/%u/#' },
          { action: 'allow', access: 'subscribe', topic: 'site/%u/#' },
        ],
      },
    ],
    onMessage: () => undefined,
  });
  port = await broker.start();
  url = `mqtt://127.0.0.1:${port}`;
});

afterAll(async () => {
  await broker?.stop();
});

async function screen(clientId = `screen-${Math.random().toString(16).slice(2, 8)}`, will?: { topic: string; payload: string }) {
  return mqtt.connectAsync(url, {
    clientId,
    username: 'screen',
    password: 'screen-password-1',
    reconnectPeriod: 0,
    ...(will ? { will: { ...will, qos: 0 as const, retain: false } } : {}),
  });
}

describe('service accounts', () => {
  it('sees what its rules allow, retained messages included, and not what they deny', async () => {
    const device = new SimulatedSmokeAlarm({ url, id: 'smoke-1', secret: 'secret-of-smoke-1' });
    await device.connect(); // publishes a retained status, which the screen must not get
    const s = await screen();
    const got: string[] = [];
    s.on('message', (topic) => got.push(topic));
    expect((await s.subscribeAsync('dev/#', { qos: 1 }))[0]!.qos).toBe(1);
    await device.telemetry();
    await waitFor('telemetry', () => got.includes('dev/smoke-1/telemetry') || undefined);
    expect(got).not.toContain('dev/smoke-1/status');
    await device.disconnect();
    await s.endAsync();
  });

  it('is refused a subscription its rules do not cover (SUBACK 0x80) and a publish they do not allow (closed)', async () => {
    const s = await screen();
    await expect(s.subscribeAsync('#')).rejects.toThrow();
    const closed = new Promise((r) => s.once('close', () => r(undefined)));
    s.publish('dev/smoke-1/cmd', '{"cmd":"silence"}', { qos: 1 });
    await closed;
    expect(counters.get('broker_publish_denied_total')).toBeGreaterThanOrEqual(1);
    s.end(true);
  });

  it("may not borrow a device's client id", async () => {
    await expect(
      mqtt.connectAsync(url, { clientId: 'smoke-1', username: 'screen', password: 'screen-password-1', reconnectPeriod: 0 }),
    ).rejects.toThrow(/Identifier rejected/);
  });

  it('holds a Will to the same rules: an allowed one is delivered, a denied one is not', async () => {
    const watcher = await screen('watcher');
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('site/screen/#', { qos: 0 });
    await watcher.subscribeAsync('dev/#', { qos: 0 });
    const good = await screen('will-good', { topic: 'site/screen/gone', payload: 'bye' });
    const bad = await screen('will-bad', { topic: 'dev/smoke-1/event', payload: '{"event":"alarm"}' });
    const deniedBefore = counters.get('broker_publish_denied_total');
    good.stream.destroy(); // dropped without DISCONNECT: the Wills fire
    bad.stream.destroy();
    await waitFor('the allowed Will', () => seen.includes('site/screen/gone') || undefined);
    await waitFor('the denied Will refused', () => counters.get('broker_publish_denied_total') > deniedBefore || undefined);
    expect(seen).not.toContain('dev/smoke-1/event');
    await watcher.endAsync();
  });

  it('works with mosquitto_sub and mosquitto_pub, and reads $SYS statistics', async () => {
    broker.publishStats();
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      'screen',
      '-P',
      'screen-password-1',
      '-t',
      '$SYS/gridedge/clients/connected',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    expect(Number(stdout.trim())).toBeGreaterThanOrEqual(0);
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      'screen',
      '-P',
      'screen-password-1',
      '-t',
      'site/screen/hello',
      '-m',
      'hi',
      '-q',
      '1',
    ]);
    await expect(
      run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        'screen',
        '-P',
        'wrong-password',
        '-t',
        'site/screen/hello',
        '-m',
        'hi',
      ]),
    ).rejects.toThrow();
    const denied = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      'screen',
      '-P',
      'screen-password-1',
      '-t',
      '#',
      '-C',
      '1',
      '-W',
      '2',
    ]);
    expect(denied.stderr).toContain('All subscription requests were denied.');
    expect(denied.stdout).toBe('');
  });
});
