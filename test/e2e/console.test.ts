/**
 * The console as a person sees it, in a real headless Chromium (Debian's, driven by
 * playwright-core): devices grouped by grid cell, their places on the map, and a live incident
 * arriving while the page is open. A screenshot is kept in test-results/ for a human to look at.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, NVR_ID } from '../helpers/gb28181.js';

const TOKEN = 'console-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';
let t: TestGateway;
let browser: Browser;
const alarms: SimulatedSmokeAlarm[] = [];
let camera: SimulatedCamera;
let nvr: SimulatedGbDevice;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run 'bash scripts/install-test-deps.sh' (npm test does)`);
  camera = new SimulatedCamera({ id: 'cam-101', password: 'console-cam-pass', initialScene: 'vehicles' });
  await camera.start();
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'engineer', token: TOKEN, role: 'read' }] },
    gb28181: {
      sipId: GATEWAY_SIP_ID,
      host: '127.0.0.1',
      port: 0,
      publicHost: '127.0.0.1',
      devices: [{ id: NVR_ID, name: '东门 NVR', password: 'console-nvr-pass', grid: '110105001002001' }],
    },
    cameras: [
      {
        id: 'cam-101',
        name: 'North gate',
        grid: '110105001002001',
        onvif: camera.xaddr,
        user: 'admin',
        password: 'console-cam-pass',
        fps: 2,
        detect: { object: {} },
      },
    ],
    devices: [
      {
        id: 'smoke-101',
        kind: 'smoke-alarm',
        secret: 'secret-101',
        grid: '110105001002001',
        name: 'Building 1',
        location: { lat: 39.9219, lon: 116.4436 },
      },
      {
        id: 'smoke-102',
        kind: 'smoke-alarm',
        secret: 'secret-102',
        grid: '110105001002001',
        name: 'Building 2',
        location: { lat: 39.9225, lon: 116.4441 },
      },
      {
        id: 'gas-201',
        kind: 'gas-sensor',
        secret: 'secret-201',
        grid: '110105001002002',
        name: 'Noodle shop',
        location: { lat: 39.9212, lon: 116.445 },
      },
    ],
  });
  for (const [id, secret] of [
    ['smoke-101', 'secret-101'],
    ['smoke-102', 'secret-102'],
  ]) {
    const a = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: id!, secret: secret! });
    await a.connect();
    await a.telemetry();
    alarms.push(a);
  }
  nvr = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'console-nvr-pass',
    server: { host: '127.0.0.1', port: t.gateway.ports!.sip!, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [
      { id: CHANNEL_IDS[0]!, name: '东门入口' },
      { id: CHANNEL_IDS[1]!, name: '地下车库 B1', online: false },
    ],
  });
  await nvr.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await nvr?.stop();
  await Promise.all(alarms.map((a) => a.disconnect()));
  await t?.stop();
  await camera?.stop();
});

describe('console page', () => {
  it('asks for a token, then shows devices by grid cell, the map, and a live incident as it arrives', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.apiUrl}/`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', TOKEN);
    await page.click('#loginform button');

    await page.locator('tr[data-device="smoke-101"]').waitFor();
    await page.locator('#login').waitFor({ state: 'hidden' }); // the overlay must not stay over the page
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#devices .cell').allTextContents()).toEqual(['网格 110105001002001', '网格 110105001002002']);
    expect(await page.locator('tr[data-device]').count()).toBe(3);
    expect(await page.locator('tr[data-device="smoke-101"] .dot.on').count()).toBe(1); // connected
    expect(await page.locator('tr[data-device="gas-201"] .dot.off').count()).toBe(1); // never connected
    expect(await page.locator('#mapsvg circle').count()).toBe(3);
    expect(await page.locator('#gw').textContent()).toContain('gw-test');

    await alarms[0]!.alarm(2.5);
    const item = page.locator('#feed li.critical').first();
    await item.waitFor({ timeout: 5000 });
    expect(await item.textContent()).toContain('fire.smoke_alarm');
    expect(await item.textContent()).toContain('Building 1');
    await page.locator('#mapsvg circle[fill="#f85149"]').waitFor(); // the alarmed device turns red on the map
    expect(await page.locator('#mapsvg circle[fill="#f85149"]').count()).toBe(1);

    await mkdir('test-results', { recursive: true });
    // The camera: live, with a thumbnail fetched through the API.
    await page.locator('.cam[data-camera="cam-101"] .dot.on').waitFor({ timeout: 20_000 });
    expect(await page.locator('.cam[data-camera="cam-101"]').textContent()).toMatch(/North gate.*SimCam-1.*网格 110105001002001/s);
    await page.waitForFunction('document.querySelector(\'img[data-camera="cam-101"]\')?.naturalWidth === 640', undefined, {
      timeout: 20_000,
    });
    // Its detectors: what they see in the last frame, and that frame with the boxes drawn as the thumbnail.
    await page
      .locator('.cam[data-camera="cam-101"] .meta.detect')
      .getByText(/sees .*(car|bicycle) 1/)
      .waitFor({ timeout: 30_000 });
    await page.waitForResponse((r) => r.url().endsWith('/api/cameras/cam-101/frame') && r.status() === 200, { timeout: 30_000 });
    await page.screenshot({ path: 'test-results/console.png' });
    expect(statSync('test-results/console.png').size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('takes a token from the address (the demo link), then removes it from the address bar and its history', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.apiUrl}/?token=${TOKEN}`);
    await page.locator('tr[data-device="smoke-101"]').waitFor();
    expect(page.url()).not.toContain(TOKEN);
    // Each cell with the GB/T 2260 division it lies in.
    expect(await page.locator('#devices .place').first().textContent()).toBe('北京市 朝阳区 建外街道');
    // The live feed works without the token in any address: a ticket opened it.
    await alarms[1]!.alarm(2.5);
    await page.locator('#feed li.critical', { hasText: 'Building 2' }).first().waitFor({ timeout: 5000 });
    // The entry with the token was replaced, not kept behind: going back leaves the page.
    await page.goBack();
    expect(page.url()).not.toContain(TOKEN);
    await page.close();
  });

  it('shows the GB/T 28181 devices registered to the gateway, with their catalogs', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.apiUrl}/?token=${TOKEN}`);
    const row = page.locator(`tr[data-gb-device="${NVR_ID}"]`);
    await row.locator(`[data-channel="${CHANNEL_IDS[1]}"]`).waitFor({ timeout: 15_000 });
    expect(await row.locator('td').first().locator('.dot.on').count()).toBe(1); // registered
    expect(await row.textContent()).toMatch(/东门 NVR.*网格 110105001002001.*udp 127\.0\.0\.1:\d+/s);
    expect(await row.locator(`[data-channel="${CHANNEL_IDS[0]}"]`).textContent()).toContain('东门入口');
    expect(await row.locator(`[data-channel="${CHANNEL_IDS[1]}"] .dot.off`).count()).toBe(1); // the catalog says OFF
    await page.close();
  });

  it('refuses a wrong token and says so', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.apiUrl}/?token=not-the-right-token-at-all`);
    await page.locator('#loginerror').getByText('token refused').waitFor();
    expect(await page.locator('tr[data-device]').count()).toBe(0);
    await page.close();
  });
});
