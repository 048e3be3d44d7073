/** The smoke alarm kind end to end: its simulator over real MQTT into a gateway, every rule. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { hostilePayloads, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { waitFor } from '../../test/helpers/servers.js';

let t: TestGateway;
let alarm: SimulatedSmokeAlarm;

beforeAll(async () => {
  t = await startTestGateway({
    kinds: { 'smoke-alarm': { lowBatteryPercent: 20 } },
    devices: [
      { id: 'smoke-1', kind: 'smoke-alarm', secret: 'smoke-secret-1', grid: '110105001002001' },
      { id: 'smoke-2', kind: 'smoke-alarm', secret: 'smoke-secret-2', heartbeatSeconds: 1 },
    ],
  });
  alarm = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-1', secret: 'smoke-secret-1' });
  await alarm.connect();
});

afterAll(async () => {
  await alarm?.disconnect();
  await t?.stop();
});

describe('smoke-alarm kind', () => {
  it('alarm → fire.smoke_alarm, repeats fold, clear resolves', async () => {
    const from = t.incidents.length;
    await alarm.alarm(2);
    await alarm.alarm(3);
    await alarm.clear();
    const msgs = t.incidents.slice(from);
    expect(msgs.map((m) => [m.category, m.type, m.status, m.count])).toEqual([
      ['fire.smoke_alarm', 'new', 'open', 1],
      ['fire.smoke_alarm', 'update', 'open', 2],
      ['fire.smoke_alarm', 'update', 'resolved', 2],
    ]);
    expect(msgs[0]!.grid).toBe('110105001002001');
  });

  it('fault, tamper and low battery raise device-health incidents, and their all-clears resolve them', async () => {
    const from = t.incidents.length;
    await alarm.fault('E07');
    await alarm.faultClear();
    await alarm.tamper();
    await alarm.tamperClear();
    alarm.battery = 19;
    await alarm.telemetry(); // below 20 %: raised once
    await alarm.telemetry();
    alarm.battery = 26;
    await alarm.telemetry(); // back above 20 + 5: resolved
    const seen = t.incidents.slice(from).map((m) => [m.category, m.status]);
    expect(seen).toEqual([
      ['device.fault', 'open'],
      ['device.fault', 'resolved'],
      ['device.tamper', 'open'],
      ['device.tamper', 'resolved'],
      ['device.low_battery', 'open'],
      ['device.low_battery', 'resolved'],
    ]);
    expect(t.incidents.find((m) => m.category === 'device.tamper')?.severity).toBe('major');
  });

  it('a self-test raises nothing', async () => {
    const from = t.incidents.length;
    await alarm.selfTest();
    await new Promise((r) => setTimeout(r, 100));
    expect(t.incidents.slice(from)).toEqual([]);
  });

  it('raises device.offline after three missed heartbeats and resolves it when the device speaks again', async () => {
    const quiet = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-2', secret: 'smoke-secret-2' });
    await quiet.connect();
    await quiet.telemetry();
    const from = t.incidents.length;
    await new Promise((r) => setTimeout(r, 3200));
    t.gateway.heartbeats.check();
    const offline = await t.waitForIncident('device.offline', (m) => m.category === 'device.offline', from);
    expect(offline).toMatchObject({ status: 'open', devices: [{ id: 'smoke-2' }], facts: { expectedEverySeconds: 1 } });
    t.gateway.heartbeats.check();
    expect(t.incidents.slice(from).filter((m) => m.category === 'device.offline')).toHaveLength(1);
    await quiet.telemetry();
    await t.waitForIncident('device.offline resolved', (m) => m.category === 'device.offline' && m.status === 'resolved', from);
    await quiet.disconnect();
  });

  it('refuses and counts hostile payloads on every channel, and keeps serving', async () => {
    const before = t.gateway.counters.total('messages_rejected_total');
    let sent = 0;
    for (const channel of ['telemetry', 'event', 'status'] as const) {
      for (const [, payload] of hostilePayloads()) {
        await alarm.publish(alarm.topic(channel), payload);
        sent++;
      }
    }
    expect(t.gateway.counters.total('messages_rejected_total') - before).toBe(sent);
    expect(t.gateway.counters.get('messages_rejected_total', { kind: 'smoke-alarm', reason: 'too_large' })).toBeGreaterThanOrEqual(2);
    const from = t.incidents.length;
    await alarm.alarm(1);
    await waitFor('still serving', () => t.incidents.slice(from).find((m) => m.category === 'fire.smoke_alarm'));
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
