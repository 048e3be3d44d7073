/**
 * Interoperability with SIPp (Debian's sip-tester), a SIP implementation gridedge did not write.
 * As a GB/T 28181 device: its digest answer to the gateway's challenge, its Keepalive and Alarm
 * MESSAGEs and its unregister are taken; the wrong password is refused with 403. As an upper
 * platform: it challenges the gateway's cascade REGISTER and checks the digest (verifyauth),
 * then asks for the catalog, which the gateway answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { DOMAIN, GATEWAY_SIP_ID, gbSettings, IPC_ID } from '../../test/helpers/gb28181.js';
import { freePort, waitFor } from '../../test/helpers/servers.js';
import { sipp } from '../../test/helpers/sipp.js';
import type { GbAlarm } from './alarm.js';
import { Cascade } from './cascade.js';
import { Gb28181Service } from './service.js';

let gb: Gb28181Service | undefined;
afterEach(async () => {
  await gb?.stop();
  gb = undefined;
});

async function start() {
  const counters = new Counters();
  gb = new Gb28181Service(
    gbSettings({
      devices: [{ id: IPC_ID, grid: '110105001002001', password: 'sipp-password-1', guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters, log: createLogger(process.env.GB_LOG ?? 'silent') },
  );
  const port = await gb.start();
  return { port, counters, gb };
}

const keys = { dev: IPC_ID, gw: GATEWAY_SIP_ID, domain: DOMAIN };

describe('GB/T 28181 registrar with SIPp as the device', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`takes SIPp's digest REGISTER, Keepalive, Alarm and unregister over ${transport.toUpperCase()}`, async () => {
      const { port, counters, gb } = await start();
      const alarms: GbAlarm[] = [];
      const registered: string[] = [];
      gb.on('alarm', (a) => alarms.push(a));
      gb.on('registered', (id) => registered.push(id));
      const run = await sipp({
        scenario: 'gb-device.xml',
        target: `127.0.0.1:${port}`,
        transport,
        keys,
        user: IPC_ID,
        password: 'sipp-password-1',
      });
      const r = await run.done;
      expect(r.code, `${r.stdout.slice(-1500)}\n${r.stderr}\n${r.errors}`).toBe(0);
      expect(registered).toEqual([IPC_ID]);
      expect(counters.get('gb28181_register_total', { result: 'ok' })).toBe(1);
      expect(counters.get('gb28181_register_total', { result: 'unregistered' })).toBe(1);
      expect(counters.get('gb28181_manscdp_total', { root: 'Notify', cmdType: 'Keepalive' })).toBe(1);
      expect(alarms).toEqual([
        { deviceId: IPC_ID, priority: 1, method: 5, type: 6, at: expect.any(Number), description: 'SIPp intrusion' },
      ]);
      expect(gb.view(IPC_ID)?.registered).toBe(false);
    });
  }

  it("refuses SIPp's REGISTER with the wrong password with 403", async () => {
    const { port, counters } = await start();
    const run = await sipp({
      scenario: 'gb-device-wrong-password.xml',
      target: `127.0.0.1:${port}`,
      transport: 'udp',
      keys,
      user: IPC_ID,
      password: 'not-it',
    });
    const r = await run.done;
    expect(r.code, `${r.stdout.slice(-1500)}\n${r.stderr}\n${r.errors}`).toBe(0);
    expect(counters.get('gb28181_register_total', { result: 'auth_failed' })).toBe(1);
  });
});

describe('GB/T 28181 cascade with SIPp as the upper platform', () => {
  const PLATFORM = '11000000002000000001';
  // The scenario looks for this channel in the catalog answer.
  const CHANNEL = '11010500011320000001';

  for (const [password, ok] of [
    ['city-gave-us-this', true],
    ['not-what-the-city-gave', false],
  ] as const) {
    it(
      ok ? 'registers with the digest SIPp checks, and answers its Catalog query' : 'is refused by SIPp with the wrong password',
      async () => {
        const { counters } = await start();
        const port = await freePort();
        const run = await sipp({
          scenario: 'gb-platform.xml',
          transport: 'udp',
          localPort: port,
          keys: { gw: GATEWAY_SIP_ID, plat: PLATFORM, domain: PLATFORM.slice(0, 10), pw: 'city-gave-us-this' },
          calls: 2,
        });
        const cascade = new Cascade(
          [
            {
              sipId: PLATFORM,
              host: '127.0.0.1',
              port,
              transport: 'udp',
              password,
              expires: 3600,
              keepaliveSeconds: 3600,
              forwardAlarms: true,
            },
          ],
          {
            gb: gb!,
            channels: () => [{ id: CHANNEL, name: '3号楼大堂', online: true }],
            deviceInfo: () => [],
            limits: gb!.settings.limits,
            bindHost: '127.0.0.1',
            counters,
            log: createLogger('silent'),
          },
        );
        try {
          await cascade.start();
          const r = await run.done;
          if (ok) {
            expect(r.code, `${r.stdout.slice(-1500)}\n${r.stderr}\n${r.errors}`).toBe(0);
            expect(cascade.view()[0]!.registered).toBe(true);
          } else {
            expect(r.code).not.toBe(0);
            const why = await waitFor('the refusal', () => cascade.view()[0]!.lastError);
            expect(why).toMatch(/REGISTER refused: 403/);
          }
        } finally {
          run.kill();
          await cascade.stop();
        }
      },
    );
  }
});
