/** The HTTP API: every route, its auth (none, wrong, read-only on an operator route), and bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { SimulatedGasSensor } from '../../sim/gas-sensor.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789abc';
const OPS = 'operator-token-0123456789';
let t: TestGateway;
let alarm: SimulatedSmokeAlarm;

beforeAll(async () => {
  t = await startTestGateway({
    api: {
      host: '127.0.0.1',
      port: 0,
      tokens: [
        { name: 'screen', token: READ, role: 'read' },
        { name: 'engineer', token: OPS, role: 'operator' },
      ],
    },
    upstream: { url: 'mqtt://127.0.0.1:9', password: 'upstream-password-secret', commandSecret: 'command-secret-0123456789' },
    devices: [{ id: 'smoke-1', kind: 'smoke-alarm', secret: 'smoke-secret-1', name: 'Stairwell', location: { lat: 39.92, lon: 116.44 } }],
  });
  alarm = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-1', secret: 'smoke-secret-1' });
  await alarm.connect();
  await alarm.telemetry();
});

afterAll(async () => {
  await alarm?.disconnect();
  await t?.stop();
});

function call(method: string, path: string, token?: string, body?: unknown) {
  return fetch(`${t.apiUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

describe('API auth', () => {
  it('lets health, readiness, the OpenAPI document and the console through without a token', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(await (await call('GET', '/readyz')).json()).toEqual({ ready: true, problems: [] });
    expect((await call('GET', '/')).headers.get('content-type')).toMatch(/^text\/html/);
    const doc = (await (await call('GET', '/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses?: object }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/devices',
      '/api/devices/{id}',
      '/api/incidents',
      '/api/incidents/{id}',
      '/api/incidents/{id}/ack',
      '/api/incidents/{id}/close',
      '/api/config',
      '/metrics',
      '/api/evidence/{sha256}',
      '/VIID/Faces',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
  });

  it('refuses every other route without a token or with a wrong one, and operator routes to a read token', async () => {
    // Every GET route in the OpenAPI document but the public ones: new routes are covered as they are added.
    const doc = (await (await call('GET', '/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const PUBLIC = ['/healthz', '/readyz', '/', '/openapi.json'];
    const paths = Object.keys(doc.paths).filter((p) => doc.paths[p]!.get && !PUBLIC.includes(p));
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/devices',
        '/api/incidents',
        '/api/config',
        '/metrics',
        '/api/cameras',
        '/api/cameras/{id}/frame',
        '/api/vision',
        '/api/events',
      ]),
    );
    for (const route of paths) {
      const path = route.replace('{sha256}', 'a'.repeat(64)).replace(/\{[^}]+\}/g, 'x-1');
      // Evidence may also be fetched by a signed link: without either, the missing signature is refused (403).
      const refused = route === '/api/evidence/{sha256}' ? 403 : 401;
      expect((await call('GET', path)).status, path).toBe(refused);
      expect((await call('GET', path, 'wrong-token-wrong-token')).status, path).toBe(401);
    }
    expect((await call('POST', '/api/devices', READ, { id: 'x-1', kind: 'smoke-alarm' })).status).toBe(403);
    expect((await call('DELETE', '/api/devices/x-1', READ)).status).toBe(403);
    expect((await call('POST', '/api/incidents/01M81NNWD58FJT67P00HPSJTH3/ack', READ, {})).status).toBe(403);
  });
});

describe('devices', () => {
  it('lists devices with their status and last values, and details one with its rejections', async () => {
    await alarm.publish(alarm.topic('telemetry'), '{"battery": "full"');
    const list = (await (await call('GET', '/api/devices', READ)).json()) as Array<Record<string, unknown>>;
    expect(list).toEqual([
      expect.objectContaining({
        id: 'smoke-1',
        kind: 'smoke-alarm',
        source: 'config',
        online: true,
        name: 'Stairwell',
        rejected: 1,
        lastValues: expect.objectContaining({ battery: expect.any(Number) }),
      }),
    ]);
    const one = (await (await call('GET', '/api/devices/smoke-1', READ)).json()) as { rejections: Array<{ reason: string }> };
    expect(one.rejections[0]).toMatchObject({ reason: 'malformed_json' });
    expect((await call('GET', '/api/devices/nope', READ)).status).toBe(404);
  });

  it('provisions a device live (it connects at once with the secret returned once) and removes it (its connection closes)', async () => {
    const res = await call('POST', '/api/devices', OPS, {
      id: 'gas-3',
      kind: 'gas-sensor',
      grid: '110105001002002',
      options: { valve: true },
    });
    expect(res.status).toBe(201);
    const { secret } = (await res.json()) as { secret: string };
    const sensor = new SimulatedGasSensor({ url: t.brokerUrl, id: 'gas-3', secret, valve: true });
    await sensor.connect();
    await sensor.report(3);
    expect((await call('POST', '/api/devices', OPS, { id: 'gas-3', kind: 'gas-sensor' })).status).toBe(409);
    expect((await call('POST', '/api/devices', OPS, { id: 'bad/id', kind: 'gas-sensor' })).status).toBe(400);
    expect((await call('POST', '/api/devices', OPS, { id: 'x-2', kind: 'toaster' })).status).toBe(400);
    const badOpt = await call('POST', '/api/devices', OPS, { id: 'x-3', kind: 'gas-sensor', options: { valve: 'sometimes' } });
    expect(badOpt.status).toBe(400);
    expect(((await badOpt.json()) as { error: string }).error).toMatch(/options\.valve/);
    expect((await call('DELETE', '/api/devices/smoke-1', OPS)).status).toBe(409);
    expect((await call('DELETE', '/api/devices/nobody', OPS)).status).toBe(404);
    const closed = sensor.closed();
    expect((await call('DELETE', '/api/devices/gas-3', OPS)).status).toBe(204);
    await closed;
    await expect(new SimulatedGasSensor({ url: t.brokerUrl, id: 'gas-3', secret }).connect()).rejects.toThrow(/Bad username or password/);
  });
});

describe('incidents', () => {
  it('queries incidents and applies the same commands as the command topic', async () => {
    await alarm.alarm(2);
    const open = (await (await call('GET', '/api/incidents?status=open&category=fire&grid=1101', READ)).json()) as IncidentMessage[];
    expect(open).toHaveLength(1);
    const id = open[0]!.id;
    expect(await (await call('GET', '/api/incidents?category=gas', READ)).json()).toEqual([]);
    expect((await call('GET', '/api/incidents?status=bogus', READ)).status).toBe(400);
    expect((await call('GET', '/api/incidents?limit=0', READ)).status).toBe(400);
    expect((await call('GET', `/api/incidents/${id}`, READ)).status).toBe(200);
    expect((await call('GET', '/api/incidents/not-an-id', READ)).status).toBe(400);
    expect((await call('GET', '/api/incidents/01M81NNWD58FJT67P00HPSJTH3', READ)).status).toBe(404);

    expect((await call('POST', `/api/incidents/${id}/close`, OPS, {})).status).toBe(409);
    expect((await call('POST', `/api/incidents/${id}/dispatch`, OPS, {})).status).toBe(400);
    expect((await call('POST', `/api/incidents/${id}/ack`, OPS, { by: 'engineer', extra: 1 })).status).toBe(400);
    const acked = await call('POST', `/api/incidents/${id}/ack`, OPS, { by: 'engineer' });
    expect(acked.status).toBe(200);
    expect(await acked.json()).toMatchObject({ id, status: 'acknowledged', handling: { acknowledgedBy: 'engineer' } });
    await call('POST', `/api/incidents/${id}/resolve`, OPS, {});
    const closed = await call('POST', `/api/incidents/${id}/close`, OPS, {});
    expect(await closed.json()).toMatchObject({ status: 'closed', type: 'end' });
    // Closed incidents stay queryable.
    expect(await (await call('GET', `/api/incidents/${id}`, READ)).json()).toMatchObject({ status: 'closed' });
  });

  it('streams incidents as they happen over server-sent events, opened by a one-time ticket', async () => {
    const ac = new AbortController();
    // A token in the address is not taken (proxies log addresses); a ticket is, once.
    expect((await fetch(`${t.apiUrl}/api/events?access_token=${READ}`)).status).toBe(401);
    const { ticket } = (await (await call('POST', '/api/events/ticket', READ)).json()) as { ticket: string };
    expect(ticket).not.toContain(READ);
    const res = await fetch(`${t.apiUrl}/api/events?ticket=${ticket}`, { signal: ac.signal });
    expect(res.status).toBe(200);
    expect((await fetch(`${t.apiUrl}/api/events?ticket=${ticket}`)).status).toBe(401); // used up
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    await alarm.clear();
    await alarm.alarm(3);
    await waitFor('an incident event', async () => {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      return /event: incident\ndata: .*"category":"fire\.smoke_alarm"/.test(text) || undefined;
    });
    ac.abort();
  });
});

describe('system', () => {
  it('shows the active config with every secret masked', async () => {
    const res = await call('GET', '/api/config', READ);
    const text = await res.text();
    for (const secret of ['smoke-secret-1', READ, OPS, 'upstream-password-secret', 'command-secret-0123456789'])
      expect(text).not.toContain(secret);
    expect(JSON.parse(text)).toMatchObject({
      upstream: { password: '***', commandSecret: '***' },
      devices: [{ id: 'smoke-1', secret: '***' }],
    });
  });

  it('serves Prometheus metrics: messages per kind, rejections, outbox, broker, process', async () => {
    const text = await (await call('GET', '/metrics', READ)).text();
    expect(text).toMatch(/^gridedge_messages_in_total\{kind="smoke-alarm"\} \d+$/m);
    expect(text).toMatch(/^gridedge_messages_rejected_total\{kind="smoke-alarm",reason="malformed_json"\} 1$/m);
    expect(text).toMatch(/^gridedge_outbox_pending \d+$/m);
    expect(text).toMatch(/^gridedge_broker_connections 1$/m);
    expect(text).toMatch(/^gridedge_incidents_active\{category="fire\.smoke_alarm",status="open"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('serves evidence to a read token, and lists video sources', async () => {
    await t.gateway.incidents.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'api-ev',
        occurredAt: Date.now(),
        facts: {},
        evidence: [{ bytes: Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]), class: 'scene', mime: 'image/jpeg' }],
      },
      { id: 'smoke-1', kind: 'smoke-alarm', grid: '110105001002000' },
    );
    const sha = t.incidents.at(-1)!.evidence[0]!.sha256;
    expect((await call('GET', `/api/evidence/${sha}`, READ)).status).toBe(200);
    expect((await call('GET', `/api/evidence/${sha}`, 'wrong-token-wrong-token')).status).toBe(401);
    expect((await call('GET', `/api/evidence/${sha}`)).status).toBe(403);
    expect(await (await call('GET', '/api/cameras', READ)).json()).toEqual({ cameras: [], videoSources: [] });
  });
});
