/**
 * Personal data on the gateway: every evidence read through the API is in the access log (the
 * token's name, never the token; the link's reads as signed-link; refusals too), which only an
 * operator may query; a subject's captures are purged by plate through the API and by capture
 * id with `gridedge evidence purge` on a stopped gateway's data folder, with a report of what went.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureMessage } from '../../contracts/capture.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { SimulatedCaptureCamera } from '../../sim/capture-camera.js';
import { gridedge } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHOTOS } from '../helpers/photos.js';
import { waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const OPS = 'operator-token-0123456789';
let t: TestGateway;
let lpr: SimulatedCaptureCamera;

const get = (url: string, token?: string) => fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});

beforeAll(async () => {
  t = await startTestGateway({
    api: {
      host: '127.0.0.1',
      port: 0,
      tokens: [
        { name: 'screen', token: READ, role: 'read' },
        { name: 'duty-officer', token: OPS, role: 'operator' },
      ],
    },
    devices: [{ id: 'gate-lpr', kind: 'capture-camera', secret: 'lpr-secret-1' }],
  });
  lpr = new SimulatedCaptureCamera({ url: t.brokerUrl, id: 'gate-lpr', secret: 'lpr-secret-1' });
  await lpr.connect();
}, 30_000);

afterAll(async () => {
  lpr?.kill();
  await t?.stop();
});

async function captures(): Promise<CaptureMessage[]> {
  return (await (await get(`${t.apiUrl}/api/captures`, READ)).json()) as CaptureMessage[];
}

describe('the evidence access log', () => {
  it('records every read, by token name or signed link, refusals too; only an operator reads it', async () => {
    await t.gateway.incidents.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'acc-1',
        occurredAt: Date.now(),
        facts: {},
        evidence: [{ bytes: PHOTOS[0]!, class: 'snapshot', mime: 'image/jpeg' }],
      },
      { id: 'smoke-x', kind: 'smoke-alarm', grid: '110105001002000' },
    );
    const m: IncidentMessage = await t.waitForIncident('incident', (x) => x.correlationKey === 'acc-1' && x.evidence.length > 0);
    const ev = m.evidence[0]!;
    expect((await get(`${t.apiUrl}/api/evidence/${ev.sha256}`, READ)).status).toBe(200);
    expect((await get(ev.url!)).status).toBe(200);
    expect((await get(`${t.apiUrl}/api/evidence/${ev.sha256}`, 'not-a-token-at-all')).status).toBe(401);
    expect((await get(ev.url!.replace(/sig=[0-9a-f]/, 'sig=z'))).status).toBe(403);

    expect((await get(`${t.apiUrl}/api/evidence-access?sha256=${ev.sha256}`, READ)).status).toBe(403);
    const res = await get(`${t.apiUrl}/api/evidence-access?sha256=${ev.sha256}`, OPS);
    expect(res.status).toBe(200);
    const log = (await res.json()) as Array<{ who: string; via: string; status: number; class?: string; at: string }>;
    expect(log.map((e) => [e.who, e.via, e.status])).toEqual([
      ['signed-link', 'link', 403],
      ['invalid-token', 'token', 401],
      ['signed-link', 'link', 200],
      ['screen', 'token', 200],
    ]);
    expect(log[3]!.class).toBe('snapshot');
    const since = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect(await (await get(`${t.apiUrl}/api/evidence-access?since=${since}`, OPS)).json()).toEqual([]);
    // Names only: neither token nor link signature is in the file.
    const file = await readFile(t.gateway.evidenceService.accessLog.file, 'utf8');
    for (const secret of [READ, 'not-a-token-at-all', new URL(ev.url!).searchParams.get('sig')!]) expect(file).not.toContain(secret);
    for (const bad of ['sha256=xyz', 'limit=0', 'since=yesterday', 'other=1'])
      expect((await get(`${t.apiUrl}/api/evidence-access?${bad}`, OPS)).status, bad).toBe(400);
  });
});

describe('purging a subject', () => {
  it('removes every capture of a plate through the API, with its images, and reports what went', async () => {
    await lpr.capturePlate('京A·88888', { image: PHOTOS[1] });
    await lpr.capturePlate('京B·12345', { image: PHOTOS[2] });
    const before = await waitFor('two captures', async () => ((await captures()).length >= 2 ? captures() : undefined), 10_000);
    const target = before.find((c) => c.plate?.text === '京A88888')!;
    const other = before.find((c) => c.plate?.text === '京B12345')!;
    expect((await get(`${t.apiUrl}/api/evidence/${target.crop!.sha256}`, READ)).status).toBe(200);

    const purge = (body: unknown, token = OPS) =>
      fetch(`${t.apiUrl}/api/captures/purge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await purge({ plate: '京A88888' }, READ)).status).toBe(403);
    expect((await purge({})).status).toBe(400);
    expect((await purge({ plate: '京A88888', captureId: target.id })).status).toBe(400);
    const res = await purge({ plate: '京a 88888' }); // spelled as a person would type it
    expect(res.status).toBe(200);
    const report = (await res.json()) as { plate: string; captures: string[]; images: number };
    expect(report).toMatchObject({ plate: '京A88888', captures: [target.id] });
    expect(report.images).toBeGreaterThanOrEqual(1);
    expect((await get(`${t.apiUrl}/api/evidence/${target.crop!.sha256}`, READ)).status).toBe(404);
    expect((await get(`${t.apiUrl}/api/evidence/${other.crop!.sha256}`, READ)).status).toBe(200);
    expect((await captures()).map((c) => c.id)).not.toContain(target.id);
    const index = await readFile(t.gateway.captures.indexFile, 'utf8');
    expect(index).not.toContain('京A88888');
    expect(index).toContain('京B12345');
  });

  it('removes one capture by id with the CLI on the data folder', async () => {
    const other = (await captures()).find((c) => c.plate?.text === '京B12345')!;
    await t.stop();
    const file = path.join(t.gateway.config.dataDir, 'gw.yaml');
    await writeFile(
      file,
      `gateway: { id: gw-test, grid: "110105001002000", timezone: Asia/Shanghai, dataDir: ${t.gateway.config.dataDir} }\n`,
    );
    const bad = gridedge(['evidence', 'purge', '--config', file, '--capture', 'nope']);
    expect(await bad.code).toBe(2);
    expect(bad.stderr()).toMatch(/not a capture id/);
    const run = gridedge(['evidence', 'purge', '--config', file, '--capture', other.id, '--json']);
    expect(await run.code, run.stderr()).toBe(0);
    const report = JSON.parse(run.stdout()) as { captures: string[]; images: number };
    expect(report.captures).toEqual([other.id]);
    expect(report.images).toBeGreaterThanOrEqual(1);
    expect(await readFile(t.gateway.captures.indexFile, 'utf8')).not.toContain(other.id);
    const access = gridedge(['evidence', 'access', '--config', file, '--limit', '2']);
    expect(await access.code, access.stderr()).toBe(0);
    expect(access.stdout()).toMatch(/^2026-\d\d-\d\d \d\d:\d\d:\d\d UTC\+08:00\s+(200|404)\s+screen/m);
  }, 30_000);
});
