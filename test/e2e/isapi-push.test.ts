/**
 * A Hikvision camera pushing its events to the gateway as an HTTP host (ISAPI httpHosts)
 * instead of the gateway holding its alert stream: the gateway writes the camera's httpHosts
 * entry itself (PUT, Digest as the camera's admin), the camera then POSTs each event signed
 * with Digest as itself — an intrusion repeated every second is one incident, resolved when
 * quiet; an ANPR read comes as multipart/form-data with its pictures and meets the watchlist —
 * and a push with a wrong signature (Debian's curl --digest) or a body that is no alert is
 * refused and counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedIsapiCamera } from '../../sim/camera/isapi.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { PHOTOS } from '../helpers/photos.js';
import { freePort, waitFor } from '../helpers/servers.js';

const run = promisify(execFile);
const GRID = '110105001002003';
const PUSH = 'push-pass-12345';
const READ = 'read-token-0123456789';
let t: TestGateway;
let cam: SimulatedIsapiCamera;

beforeAll(async () => {
  cam = new SimulatedIsapiCamera({ password: 'hik-admin-pass', heartbeatMs: 1000, snapshot: PHOTOS[1]! });
  await cam.start();
  const port = await freePort();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    kinds: { 'capture-camera': { blocklist: [{ plate: '京A·88888', reason: 'reported stolen' }] } },
    cameras: [
      {
        id: 'cam-push',
        name: '南门 Hikvision',
        grid: GRID,
        isapi: cam.url,
        user: 'admin',
        password: 'hik-admin-pass',
        isapiPush: { password: PUSH, gateway: `http://127.0.0.1:${port}` },
      },
    ],
  });
}, 30_000);

afterAll(async () => {
  await t?.stop();
  await cam?.stop();
});

describe('a Hikvision camera pushing to the gateway (httpHosts)', () => {
  it("writes the camera's httpHosts entry, and opens no alert stream", async () => {
    const host = await waitFor('the httpHosts entry', () => cam.hosts[0], 10_000);
    expect(host).toMatchObject({ url: `${t.apiUrl}/isapi/cam-push/events`, user: 'cam-push', password: PUSH });
    const res = await fetch(`${t.apiUrl}/api/cameras/cam-push`, { headers: { authorization: `Bearer ${READ}` } });
    const c = (await res.json()) as { isapi?: { push?: { httpHost?: { written: boolean } } } };
    expect(c.isapi?.push?.httpHost).toEqual({ written: true });
    expect(cam.openStreams).toBe(0);
  });

  it('raises camera.intrusion once for a pushed intrusion repeated every second, and resolves it when quiet', async () => {
    const from = t.incidents.length;
    cam.raise('fielddetection');
    const m = await t.waitForIncident('intrusion', (x) => x.category === 'camera.intrusion' && x.type === 'new', from, 10_000);
    expect(m.facts.detail).toBe('ISAPI fielddetection');
    await new Promise((r) => setTimeout(r, 2500));
    cam.clear('fielddetection');
    await t.waitForIncident('resolved', (x) => x.id === m.id && x.status === 'resolved', from, 15_000);
    expect(t.incidents.slice(from).filter((x) => x.category === 'camera.intrusion' && x.type === 'new')).toHaveLength(1);
    await cam.pushed();
    expect(cam.pushAnswers.length).toBeGreaterThanOrEqual(3);
    expect(new Set(cam.pushAnswers)).toEqual(new Set([200]));
  }, 30_000);

  it('takes a pushed ANPR read with its pictures (multipart/form-data) through the watchlist', async () => {
    const from = t.incidents.length;
    cam.anpr({ plate: '京A88888', color: 'blue', plateJpeg: PHOTOS[2]!, sceneJpeg: PHOTOS[3]! });
    const m = await t.waitForIncident('blocked plate', (x) => x.category === 'vehicle.watchlist_plate', from, 10_000);
    expect(m.facts).toMatchObject({ plate: '京A88888', reason: 'reported stolen', source: 'camera analytics' });
    const cap = await waitFor('capture', () => t.gateway.captures.recent().find((c) => c.plate?.text === '京A88888'), 10_000);
    expect(cap).toMatchObject({ source: 'camera', camera: 'cam-push' });
    expect(cap.scene!.bytes).toBeGreaterThan(0);
  });

  it('refuses a push with a wrong signature or no alert in it, and counts both', async () => {
    const url = `${t.apiUrl}/isapi/cam-push/events`;
    const alert = '<EventNotificationAlert><eventType>fielddetection</eventType><eventState>active</eventState></EventNotificationAlert>';
    const curl = (password: string, type: string, body: string) =>
      run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--digest',
        '-u',
        `cam-push:${password}`,
        '-H',
        `Content-Type: ${type}`,
        '--data-binary',
        body,
        url,
      ]);
    expect((await curl('not-the-password', 'application/xml', alert)).stdout).toBe('401');
    expect((await curl(PUSH, 'text/plain', 'hello')).stdout).toBe('400');
    expect((await fetch(url, { method: 'POST', body: alert })).status).toBe(401);
    expect((await fetch(`${t.apiUrl}/isapi/no-such-camera/events`, { method: 'POST', body: alert })).status).toBe(404);
    const res = await fetch(`${t.apiUrl}/api/cameras/cam-push`, { headers: { authorization: `Bearer ${READ}` } });
    const c = (await res.json()) as { isapi: { push: { refused: number; received: number } } };
    expect(c.isapi.push.refused).toBe(2);
    expect(c.isapi.push.received).toBeGreaterThan(0);
    expect(t.logs()).not.toContain(PUSH);
  });
});
