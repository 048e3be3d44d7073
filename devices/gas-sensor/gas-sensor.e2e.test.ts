/** The gas sensor kind end to end: simulator over real MQTT, hysteresis, valve command and reply. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGasSensor } from '../../sim/gas-sensor.js';
import { hostilePayloads, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { waitFor } from '../../test/helpers/servers.js';
import { nextLevel } from './rules.js';

let t: TestGateway;
const sensors: SimulatedGasSensor[] = [];

async function sensor(id: string, opts: Partial<ConstructorParameters<typeof SimulatedGasSensor>[0]> = {}): Promise<SimulatedGasSensor> {
  const s = new SimulatedGasSensor({ url: t.brokerUrl, id, secret: `secret-of-${id}`, ...opts });
  await s.connect();
  sensors.push(s);
  return s;
}

beforeAll(async () => {
  t = await startTestGateway({
    kinds: { 'gas-sensor': { warnLel: 10, alarmLel: 25, hysteresisLel: 3, valveReplyTimeoutSeconds: 0.5 } },
    devices: [
      { id: 'kitchen-1', kind: 'gas-sensor', secret: 'secret-of-kitchen-1', options: { valve: true } },
      { id: 'kitchen-2', kind: 'gas-sensor', secret: 'secret-of-kitchen-2', options: { valve: true } },
      { id: 'kitchen-3', kind: 'gas-sensor', secret: 'secret-of-kitchen-3', options: { valve: true } },
      { id: 'home-4', kind: 'gas-sensor', secret: 'secret-of-home-4', options: { warnLel: 5 } },
    ],
  });
});

afterAll(async () => {
  await Promise.all(sensors.map((s) => s.disconnect()));
  await t?.stop();
});

describe('gas levels', () => {
  it('crosses thresholds upwards at their value and downwards only below the hysteresis band', () => {
    const walk = (values: number[]) => {
      let level: 'normal' | 'warn' | 'alarm' = 'normal';
      return values.map((v) => (level = nextLevel(level, v, 10, 25, 3)));
    };
    expect(walk([9.9, 10, 7.1, 7, 25, 22.1, 22, 30])).toEqual(['normal', 'warn', 'warn', 'normal', 'alarm', 'alarm', 'warn', 'alarm']);
  });
});

describe('gas-sensor kind', () => {
  it('a reading hovering at the warning threshold raises one warning, not fifty', async () => {
    const s = await sensor('home-4', { valve: false }); // warns at 5 by its own option
    const from = t.incidents.length;
    for (const v of [4.9, 5.1, 4.8, 5.3, 4.2, 5.0, 4.6, 5.2, 4.4, 5.1]) await s.report(v);
    expect(t.incidents.slice(from).map((m) => [m.category, m.status])).toEqual([['gas.leak_warning', 'open']]);
    await s.report(1.9);
    expect(t.incidents.slice(from).map((m) => [m.category, m.status])).toEqual([
      ['gas.leak_warning', 'open'],
      ['gas.leak_warning', 'resolved'],
    ]);
    expect(s.commandsReceived).toEqual([]); // no valve, no command
  });

  it('a rising leak raises the warning then gas.leak, shuts the valve and records its confirmation', async () => {
    const s = await sensor('kitchen-1', { valve: true });
    const from = t.incidents.length;
    await s.ramp(30, 6); // 5, 10, 15, 20, 25, 30
    const leak = await t.waitForIncident(
      'valve confirmed and closed',
      (m) => m.category === 'gas.leak' && m.facts.valveShut === 'confirmed' && m.facts.valve === 'closed',
      from,
    );
    expect(leak).toMatchObject({ severity: 'critical', facts: { valve: 'closed', threshold: 25 } });
    expect(s.commandsReceived).toMatchObject([{ cmd: 'valve_close', reason: 'gas.leak' }]);
    expect(t.gateway.counters.get('device_commands_total', { kind: 'gas-sensor', command: 'cmd' })).toBeGreaterThanOrEqual(1);
    const categories = t.incidents
      .slice(from)
      .filter((m) => m.type === 'new')
      .map((m) => m.category);
    expect(categories).toEqual(['gas.leak_warning', 'gas.leak']);
    // Hovering around the alarm line does not raise it again; falling below 22 resolves it, below 7 the warning.
    for (const v of [24, 26, 23, 25.5]) await s.report(v);
    expect(t.incidents.slice(from).filter((m) => m.type === 'new')).toHaveLength(2);
    await s.report(21);
    await s.report(6);
    const resolved = t.incidents
      .slice(from)
      .filter((m) => m.status === 'resolved')
      .map((m) => m.category);
    expect(resolved).toEqual(['gas.leak', 'gas.leak_warning']);
    expect(t.incidents.slice(from).find((m) => m.category === 'gas.leak' && m.facts.peakLel === 30)).toBeDefined();
  });

  it('records a valve that reports failure, and one that never answers', async () => {
    const failing = await sensor('kitchen-2', { valve: true, valveBehaviour: 'fail' });
    const silent = await sensor('kitchen-3', { valve: true, valveBehaviour: 'silent' });
    const from = t.incidents.length;
    await failing.report(40);
    await silent.report(40);
    await t.waitForIncident(
      'valve failure',
      (m) => m.devices[0]?.id === 'kitchen-2' && m.facts.valveShut === 'failed: motor stalled',
      from,
    );
    await t.waitForIncident(
      'valve timeout',
      (m) => m.devices[0]?.id === 'kitchen-3' && m.facts.valveShut === 'no reply within 1 s',
      from,
      3000,
    );
    expect(t.gateway.counters.get('device_command_timeouts_total', { kind: 'gas-sensor' })).toBe(1);
  });

  it('refuses and counts hostile payloads on every channel, and keeps serving', async () => {
    const s = sensors.find((x) => x.id === 'kitchen-1')!;
    const before = t.gateway.counters.total('messages_rejected_total');
    let sent = 0;
    for (const channel of ['telemetry', 'event', 'status', 'cmd_reply'] as const) {
      for (const [, payload] of hostilePayloads()) {
        await s.publish(s.topic(channel), payload);
        sent++;
      }
    }
    expect(t.gateway.counters.total('messages_rejected_total') - before).toBe(sent);
    const from = t.incidents.length;
    await s.fault('E3');
    await waitFor('still serving', () => t.incidents.slice(from).find((m) => m.category === 'device.fault'));
  });
});
