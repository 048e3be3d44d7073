/** The LPG reader kind end to end: scans over real MQTT, each rule, and the registry's API. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedLpgReader } from '../../sim/lpg-reader.js';
import { hostilePayloads, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { tempDir } from '../../test/helpers/tmp.js';

const REGISTRY = `tagId,ownerStation,manufactureDate,lastInspection,nextInspectionDue,scrapped,ratedFillKg,tareKg
# a comment line, ignored
CYL0001,ST-A,2020-01-01,2025-06-01,2029-06-01,false,14.5,15.0
CYL0002,ST-A,2010-01-01,2018-01-01,2022-01-01,false,14.5,15.0
CYL0003,ST-A,2005-01-01,2015-01-01,2030-01-01,true,14.5,15.0
CYL0004,ST-B,2020-01-01,2025-06-01,2029-06-01,false,14.5,15.0
CYL0005,ST-A,2020-01-01,2025-06-01,2029-06-01,no,14.5,
`;
const READ = 'read-token-0123456789';
const OPERATOR = 'operator-token-0123456789';

let t: TestGateway;
let reader: SimulatedLpgReader;
let dir: string;

beforeAll(async () => {
  dir = await tempDir('lpg');
  await writeFile(path.join(dir, 'cylinders.csv'), REGISTRY);
  t = await startTestGateway(
    {
      kinds: { 'lpg-reader': { cylinders: 'cylinders.csv' } },
      api: {
        host: '127.0.0.1',
        port: 0,
        tokens: [
          { name: 'viewer', token: READ, role: 'read' },
          { name: 'ops', token: OPERATOR, role: 'operator' },
        ],
      },
      devices: [{ id: 'reader-a', kind: 'lpg-reader', secret: 'reader-secret-a', options: { station: 'ST-A' } }],
    },
    {},
    dir,
  );
  reader = new SimulatedLpgReader({ url: t.brokerUrl, id: 'reader-a', secret: 'reader-secret-a' });
  await reader.connect();
});

afterAll(async () => {
  await reader?.disconnect();
  await t?.stop();
});

const api = (method: string, url: string, token?: string, body?: unknown) =>
  fetch(`${t.apiUrl}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

describe('lpg-reader kind', () => {
  it('raises each lpg.* incident for its case, with the facts, and nothing for a sound fill', async () => {
    const from = t.incidents.length;
    await reader.fill('CYL0001', 15.5, 29.4); // net 14.4 of 14.5: sound
    await reader.fill('CYL0002', 15.5, 29.0); // inspection due 2022
    await reader.fill('CYL0003', 15.5, 29.0); // scrapped
    await reader.fill('CYL0004', 15.5, 29.0); // owned by ST-B
    await reader.fill('CYL0005', 16.0, 31.0); // no tare: net 15.0 > 14.5
    await reader.fill('CYL9999', 16.0, 29.0); // not registered
    const got = t.incidents.slice(from).map((m) => [m.category, m.facts.tagId]);
    expect(got).toEqual([
      ['lpg.cylinder_overdue', 'CYL0002'],
      ['lpg.cylinder_scrapped', 'CYL0003'],
      ['lpg.cross_filling', 'CYL0004'],
      ['lpg.overfill', 'CYL0005'],
      ['lpg.cylinder_unregistered', 'CYL9999'],
    ]);
    const byCat = Object.fromEntries(t.incidents.slice(from).map((m) => [m.category, m]));
    expect(byCat['lpg.cylinder_overdue']!.facts).toMatchObject({ nextInspectionDue: '2022-01-01', station: 'ST-A', operation: 'fill' });
    expect(byCat['lpg.cross_filling']!.facts).toMatchObject({ ownerStation: 'ST-B', station: 'ST-A' });
    expect(byCat['lpg.overfill']!.facts).toMatchObject({ netKg: 15, ratedFillKg: 14.5 });
    expect(byCat['lpg.cylinder_scrapped']!.severity).toBe('critical');
  });

  it('checks deliveries for overdue and scrapped cylinders but not for cross-filling; repeats fold', async () => {
    const from = t.incidents.length;
    await reader.deliver('CYL0004', 29);
    await reader.deliver('CYL0002', 29);
    const msgs = t.incidents.slice(from);
    expect(msgs.map((m) => [m.category, m.type, m.count])).toEqual([['lpg.cylinder_overdue', 'update', 2]]);
    expect(msgs[0]!.facts.operation).toBe('delivery');
  });

  it('serves the registry to a read token and changes it only for an operator, writing the file back', async () => {
    expect((await api('GET', '/api/lpg/cylinders')).status).toBe(401);
    const list = await api('GET', '/api/lpg/cylinders', READ);
    expect(list.status).toBe(200);
    expect(((await list.json()) as unknown[]).length).toBe(5);
    const scrapped = {
      ownerStation: 'ST-A',
      manufactureDate: '2020-01-01',
      lastInspection: '2025-06-01',
      nextInspectionDue: '2029-06-01',
      scrapped: true,
      ratedFillKg: 14.5,
      tareKg: 15,
    };
    expect((await api('PUT', '/api/lpg/cylinders/CYL0001', READ, scrapped)).status).toBe(403);
    expect((await api('PUT', '/api/lpg/cylinders/CYL0001', 'not-a-token-at-all', scrapped)).status).toBe(401);
    expect((await api('PUT', '/api/lpg/cylinders/CYL0001', OPERATOR, { ...scrapped, ratedFillKg: 'lots' })).status).toBe(400);
    expect((await api('PUT', '/api/lpg/cylinders/CYL0001', OPERATOR, scrapped)).status).toBe(200);
    const from = t.incidents.length;
    await reader.fill('CYL0001', 15.5, 29.4);
    expect(t.incidents.slice(from).map((m) => m.category)).toEqual(['lpg.cylinder_scrapped']);
    expect(await readFile(path.join(dir, 'cylinders.csv'), 'utf8')).toMatch(
      /^CYL0001,ST-A,2020-01-01,2025-06-01,2029-06-01,true,14\.5,15$/m,
    );
    expect((await api('DELETE', '/api/lpg/cylinders/CYL0004', OPERATOR)).status).toBe(204);
    expect((await api('GET', '/api/lpg/cylinders/CYL0004', READ)).status).toBe(404);
    await reader.fill('CYL0004', 15.5, 29.0);
    expect(t.incidents.at(-1)).toMatchObject({ category: 'lpg.cylinder_unregistered', facts: { tagId: 'CYL0004' } });
  });

  it('takes its status and its Last Will', async () => {
    const before = t.gateway.counters.total('messages_rejected_total');
    await reader.publish(reader.topic('status'), '"offline"');
    await reader.publish(reader.topic('status'), JSON.stringify({ state: 'online' }));
    expect(t.gateway.counters.total('messages_rejected_total')).toBe(before);
    expect(t.gateway.pipeline.deviceState('reader-a').online).toBe(true);
  });

  it('refuses and counts hostile payloads on every channel, and keeps serving', async () => {
    const before = t.gateway.counters.total('messages_rejected_total');
    let sent = 0;
    for (const channel of ['scan', 'heartbeat', 'event', 'status'] as const) {
      for (const [name, payload] of hostilePayloads()) {
        if (channel === 'heartbeat' && name === 'an empty object') continue; // {} is a valid heartbeat
        await reader.publish(reader.topic(channel), payload);
        sent++;
      }
    }
    expect(t.gateway.counters.total('messages_rejected_total') - before).toBe(sent);
    const from = t.incidents.length;
    await reader.fill('CYL7777', 1, 2);
    expect(t.incidents.slice(from).map((m) => m.category)).toEqual(['lpg.cylinder_unregistered']);
  });

  it('refuses to start on a registry with bad rows, naming each line', async () => {
    const bad = await tempDir('lpg-bad');
    await writeFile(
      path.join(bad, 'c.csv'),
      'tagId,ownerStation,manufactureDate,lastInspection,nextInspectionDue,scrapped,ratedFillKg\n' +
        'C1,ST-A,2020-01-01,2025-06-01,soon,false,14.5\n' +
        'CYL0009,ST-A,2020-01-01,2025-06-01,2029-01-01,false,-3\n',
    );
    await expect(startTestGateway({ kinds: { 'lpg-reader': { cylinders: 'c.csv' } } }, {}, bad)).rejects.toThrow(
      /line 2: tagId: "C1" is not valid[\s\S]*line 2: nextInspectionDue: "soon" is not valid[\s\S]*line 3: ratedFillKg: -3 is out of range/,
    );
  });
});
