/**
 * The gateway's GB/T 28181 SIP server against simulated cameras and NVRs over real UDP and TCP:
 * digest registration, refusals, the catalog (in parts, in GB2312), device info and status,
 * keepalives, alarms, and a device that may only speak for itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, gbSettings, IPC_ID, NVR_ID } from '../../test/helpers/gb28181.js';
import { waitFor } from '../../test/helpers/servers.js';
import type { GbAlarm } from './alarm.js';
import type { Gb28181Settings } from './config.js';
import { Gb28181Service } from './service.js';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

async function service(over: Partial<Gb28181Settings> = {}) {
  const counters = new Counters();
  const gb = new Gb28181Service(
    gbSettings({
      devices: [
        {
          id: NVR_ID,
          name: '东门 NVR',
          grid: '110105001002001',
          password: 'nvr-password-1',
          guard: true,
          subscribeAlarms: true,
          channels: [],
        },
      ],
      password: 'site-password-1',
      ...over,
    }),
    { counters, log: createLogger('silent') },
  );
  const port = await gb.start();
  running.push(gb);
  return { gb, port, counters };
}

function nvr(port: number, over: Partial<ConstructorParameters<typeof SimulatedGbDevice>[0]> = {}) {
  const d = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'nvr-password-1',
    server: { host: '127.0.0.1', port, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [
      { id: CHANNEL_IDS[0]!, name: '东门入口' },
      { id: CHANNEL_IDS[1]!, name: '地下车库 B1' },
      { id: CHANNEL_IDS[2]!, name: '3号楼消防通道', online: false },
    ],
    manufacturer: '海康威视',
    model: 'DS-7808N',
    ...over,
  });
  running.push(d);
  return d;
}

describe('GB/T 28181 registrar and queries', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`registers an NVR over ${transport.toUpperCase()} with digest, then reads its catalog, info and status`, async () => {
      const { gb, port, counters } = await service();
      const catalogs: string[][] = [];
      gb.on('catalog', (_id, items) => catalogs.push(items.map((i) => i.name)));
      const d = nvr(port, { transport });
      await d.start();
      expect(d.registered).toBe(true);
      expect(counters.get('gb28181_register_total', { result: 'challenged' })).toBe(1);
      expect(counters.get('gb28181_register_total', { result: 'ok' })).toBe(1);
      const view = await waitFor('catalog, info and status', () => {
        const v = gb.view(NVR_ID);
        return v?.catalog.length === 3 && v.info && v.status ? v : undefined;
      });
      // Two channels to a MESSAGE, in GB2312: gathered into one catalog of three, names intact.
      expect(view.catalog.map((c) => [c.id, c.name, c.online, c.video])).toEqual([
        [CHANNEL_IDS[0], '东门入口', true, true],
        [CHANNEL_IDS[1], '地下车库 B1', true, true],
        [CHANNEL_IDS[2], '3号楼消防通道', false, true],
      ]);
      expect(catalogs).toEqual([['东门入口', '地下车库 B1', '3号楼消防通道']]);
      expect(view.info).toMatchObject({ Manufacturer: '海康威视', Model: 'DS-7808N', Channel: '3' });
      expect(view.status).toMatchObject({ Online: 'ONLINE', Result: 'OK' });
      expect(view.registration).toMatchObject({ transport, version: '2016', listed: true });
      // SetGuard was sent because the device is configured with guard: true; the alarm SUBSCRIBE came too.
      await waitFor('SetGuard', () => d.guard || undefined);
      expect(d.received.some((r) => r.method === 'SUBSCRIBE' && r.get('event')?.startsWith('presence'))).toBe(true);
    });
  }

  it('says the time in the 200 of a REGISTER, in the site zone (§9.10), and takes a refresh and an unregister', async () => {
    const { gb, port } = await service();
    const d = nvr(port);
    const before = Date.now();
    await d.start();
    const res = await d.register(3600);
    const date = res.get('date')!;
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
    const asUtc = Date.parse(`${date}+08:00`);
    expect(Math.abs(asUtc - before)).toBeLessThan(5000);
    expect(res.get('expires')).toBe('3600');
    const unregistered: string[] = [];
    gb.on('unregistered', (id, why) => unregistered.push(`${id}:${why}`));
    await d.register(0);
    expect(unregistered).toEqual([`${NVR_ID}:unregistered`]);
    expect(gb.view(NVR_ID)?.registered).toBe(false);
  });

  it('refuses an unknown id, a wrong password and too short a period; each counted', async () => {
    const { gb, port, counters } = await service({ password: undefined });
    const stranger = nvr(port, { id: IPC_ID, password: 'whatever-1' });
    await expect(stranger.start()).rejects.toThrow(/403/);
    const wrong = nvr(port, { password: 'not-the-password' });
    await expect(wrong.start()).rejects.toThrow(/403/);
    const brief = nvr(port, { expires: 10 });
    await expect(brief.start()).rejects.toThrow(/423/);
    expect(counters.get('gb28181_register_total', { result: 'unknown' })).toBe(1);
    expect(counters.get('gb28181_register_total', { result: 'auth_failed' })).toBe(1);
    expect(counters.get('gb28181_register_total', { result: 'too_brief' })).toBe(1);
    expect(gb.devices().filter((v) => v.registered)).toEqual([]);
  });

  it('admits an unlisted device with the site password only when acceptUnlisted is on', async () => {
    const { gb, port } = await service({ acceptUnlisted: true });
    const d = nvr(port, { id: IPC_ID, password: 'site-password-1', channels: [{ id: IPC_ID, name: '单元门口' }] });
    await d.start();
    expect(gb.view(IPC_ID)).toMatchObject({ registered: true, listed: false, grid: '110105001002000' });
  });

  it('counts keepalives as signs of life, and refuses one from a device that is not registered', async () => {
    const { gb, port, counters } = await service();
    const seen: string[] = [];
    gb.on('seen', (id) => seen.push(id));
    const d = nvr(port);
    await d.transport.start();
    const silent = await d.keepalive();
    expect(silent.status).toBe(403);
    expect(counters.get('gb28181_sip_refused_total', { reason: 'not_registered' })).toBe(1);
    await d.start();
    await waitFor('the queries after registering', () => gb.view(NVR_ID)?.status);
    seen.length = 0;
    expect((await d.keepalive()).status).toBe(200);
    expect(seen).toEqual([NVR_ID]);
    expect(gb.view(NVR_ID)?.lastKeepaliveAt).toBeGreaterThan(0);
  });

  it('turns an Alarm MESSAGE into an alarm, answers it with a Response, and refuses one about another device', async () => {
    const { gb, port, counters } = await service();
    const alarms: GbAlarm[] = [];
    gb.on('alarm', (a) => alarms.push(a));
    const d = nvr(port);
    await d.start();
    await waitFor('catalog', () => gb.view(NVR_ID)?.catalog.length === 3 || undefined);
    // A minute ago, to the second (AlarmTime's precision): a device clock far from now is not believed.
    const at = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    expect(
      (await d.alarm({ deviceId: CHANNEL_IDS[1]!, method: 5, type: 6, eventType: 1, priority: 1, at, description: '周界入侵' })).status,
    ).toBe(200);
    await waitFor('the alarm', () => alarms.length || undefined);
    expect(alarms[0]).toEqual({ deviceId: CHANNEL_IDS[1], priority: 1, method: 5, type: 6, eventType: 1, at, description: '周界入侵' });
    await waitFor('the Response to the alarm', () => d.received.some((r) => r.body.includes('<CmdType>Alarm</CmdType>')) || undefined);
    expect((await d.alarm({ deviceId: IPC_ID, method: 5, type: 2 })).status).toBe(403);
    expect(counters.get('gb28181_sip_refused_total', { reason: 'other_device' })).toBe(1);
    expect(alarms).toHaveLength(1);
  });
});
