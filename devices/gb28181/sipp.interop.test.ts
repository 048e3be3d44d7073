/**
 * Interoperability with SIPp (Debian's sip-tester), a SIP implementation gridedge did not write,
 * playing a GB/T 28181 device: its digest answer to the gateway's challenge, its Keepalive and
 * Alarm MESSAGEs and its unregister are taken; the wrong password is refused with 403.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { DOMAIN, GATEWAY_SIP_ID, gbSettings, IPC_ID } from '../../test/helpers/gb28181.js';
import { sipp } from '../../test/helpers/sipp.js';
import type { GbAlarm } from './alarm.js';
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
