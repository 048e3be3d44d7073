/**
 * The closed loop through real MQTT: the platform (simulated, on a real mosquitto) acknowledges,
 * dispatches, resolves and closes an incident the gateway raised; every step is an incident
 * update upstream and a reply with the command's correlation id; bad commands change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import { signCommand } from '../../contracts/commands.js';
import { SimulatedPlatform } from '../../sim/platform.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { startMosquitto, waitFor, type Mosquitto } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

const SECRET = 'command-secret-0123456789';
const ROOT = 'gridedge/v1/110105001002000/gw-life';

let mosquitto: Mosquitto;
let gateway: Gateway;
let platform: SimulatedPlatform;
let feed: UpstreamSubscriber;
let alarm: SimulatedSmokeAlarm;

beforeAll(async () => {
  mosquitto = await startMosquitto();
  const dataDir = await tempDir('life');
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-life', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { port: 0 },
        upstream: { url: mosquitto.url, commandSecret: SECRET },
        devices: [{ id: 'smoke-1', kind: 'smoke-alarm', secret: 'smoke-secret-1' }],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  const ports = await gateway.start();
  feed = await UpstreamSubscriber.connect(mosquitto.url, `${ROOT}/incident`);
  platform = await SimulatedPlatform.connect(mosquitto.url, SECRET);
  alarm = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${ports.broker}`, id: 'smoke-1', secret: 'smoke-secret-1' });
  await alarm.connect();
});

afterAll(async () => {
  await alarm?.disconnect();
  await platform?.close();
  await feed?.close();
  await gateway?.stop();
  await mosquitto?.stop();
});

/** A fresh incident: clear whatever this alarm had open (so the alarm cannot fold into it), then alarm. */
async function raise(): Promise<IncidentMessage> {
  await alarm.clear();
  const before = feed.messages.length;
  await alarm.alarm(2);
  return waitFor('new incident', () =>
    feed.messages
      .slice(before)
      .map((m) => JSON.parse(m.payload) as IncidentMessage)
      .find((m) => m.type === 'new'),
  );
}

describe('incident lifecycle driven by the platform', () => {
  it('acknowledges, dispatches, resolves and closes, each step published as an update and replied to', async () => {
    const incident = await raise();
    const steps: Array<[string, Record<string, string>, string]> = [
      ['ack', { by: 'operator-7' }, 'acknowledged'],
      ['dispatch', { assignee: 'grid worker Wang' }, 'dispatched'],
      ['resolve', { by: 'wang', note: 'kitchen smoke, ventilated' }, 'resolved'],
      ['close', { by: 'operator-7' }, 'closed'],
    ];
    for (const [name, fields, status] of steps) {
      const reply = await platform.command(ROOT, name, { incidentId: incident.id, ...fields });
      expect(reply).toMatchObject({ schema: 'gridedge.reply/v1', ok: true, command: name, incident: { id: incident.id, status } });
      const update = assertIncident(
        await feed.waitFor<IncidentMessage>(`${status} update`, '/incident', (m) => m.id === incident.id && m.status === status),
      );
      expect(update.seq).toBe(reply.incident!.seq);
    }
    const closed = feed.json<IncidentMessage>('/incident').find((m) => m.id === incident.id && m.status === 'closed')!;
    expect(closed.type).toBe('end');
    expect(closed.handling).toMatchObject({
      acknowledgedBy: 'operator-7',
      assignee: 'grid worker Wang',
      resolvedBy: 'wang',
      closedBy: 'operator-7',
    });
    // After the close, the next alarm is a new incident.
    const next = await raise();
    expect(next.id).not.toBe(incident.id);
  });

  it('refuses invalid commands with a reason, applying none of them', async () => {
    const incident = await raise();
    const seqBefore = () => feed.json<IncidentMessage>('/incident').length;
    const before = seqBefore();
    expect((await platform.command(ROOT, 'close', { incidentId: incident.id })).error).toEqual({
      code: 'invalid_transition',
      message: 'cannot close an incident that is open (close needs resolved)',
    });
    expect((await platform.command(ROOT, 'ack', { incidentId: incident.id, secret: 'a-wrong-secret-of-the-attacker' })).error?.code).toBe(
      'unauthenticated',
    );
    expect(
      (await platform.command(ROOT, 'ack', { incidentId: incident.id, issuedAt: new Date(Date.now() - 3600_000).toISOString() })).error
        ?.code,
    ).toBe('stale');
    expect((await platform.command(ROOT, 'ack', { incidentId: '01M81NNWD58FJT67P00HPSJTH3' })).error?.code).toBe('not_found');
    expect((await platform.command(ROOT, 'dispatch', { incidentId: incident.id })).error?.code).toBe('malformed');
    expect((await platform.command(ROOT, 'reboot', { incidentId: incident.id })).error?.code).toBe('unknown_command');
    expect((await platform.command(ROOT, 'snapshot', { cameraId: 'gate-1' })).error).toEqual({
      code: 'not_found',
      message: "camera 'gate-1' is not configured on this gateway",
    });
    const notJson = await platform.send(ROOT, 'ack', '{"correlationId": "x1", ', null);
    expect(notJson.error?.code).toBe('malformed');
    const extra = await platform.send(
      ROOT,
      'ack',
      JSON.stringify({
        correlationId: 'x2',
        issuedAt: new Date().toISOString(),
        incidentId: incident.id,
        auth: '0'.repeat(64),
        sudo: true,
      }),
      'x2',
    );
    expect(extra.error).toEqual({
      code: 'malformed',
      message: 'sudo: unknown key (known keys: correlationId, issuedAt, incidentId, cameraId, by, assignee, note, auth)',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(seqBefore()).toBe(before);
    expect(gateway.incidents.incident(incident.id)?.status).toBe('open');
  });

  it('answers a redelivered command again without applying it twice', async () => {
    const incident = await raise();
    const body = { correlationId: 'dup-1', issuedAt: new Date().toISOString(), incidentId: incident.id, by: 'op' };
    const payload = JSON.stringify({ ...body, auth: signCommand(SECRET, 'ack', body) });
    const first = await platform.send(ROOT, 'ack', payload, 'dup-1');
    const second = await platform.send(ROOT, 'ack', payload, 'dup-1');
    expect(first).toMatchObject({ ok: true });
    expect(second).toEqual(first);
    await new Promise((r) => setTimeout(r, 200));
    expect(feed.json<IncidentMessage>('/incident').filter((m) => m.id === incident.id && m.status === 'acknowledged')).toHaveLength(1);
  });
});
