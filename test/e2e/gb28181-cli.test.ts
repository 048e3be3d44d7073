/**
 * The field tools: `gridedge sim nvr` registers to a running gateway and raises an intrusion it
 * turns into an incident; `gridedge sim platform` takes the gateway's cascade registration and
 * prints its catalog. Both as a field engineer runs them: the built CLI in a child process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gridedge } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { GATEWAY_SIP_ID, NVR_ID } from '../helpers/gb28181.js';
import { freePort, waitFor } from '../helpers/servers.js';

const PLATFORM_ID = '11000000002000000001';
let t: TestGateway;
let platform: ReturnType<typeof gridedge>;

beforeAll(async () => {
  const platformPort = await freePort();
  platform = gridedge(['sim', 'platform', '--port', String(platformPort), '--lower-id', GATEWAY_SIP_ID], {
    GRIDEDGE_SIM_PLATFORM_PASSWORD: 'city-pass-for-cli',
  });
  await waitFor('the platform listening', () => platform.stdout().includes('Ctrl-C stops it') || undefined, 20_000);
  t = await startTestGateway({
    gb28181: {
      sipId: GATEWAY_SIP_ID,
      host: '127.0.0.1',
      port: 0,
      publicHost: '127.0.0.1',
      devices: [{ id: NVR_ID, password: 'nvr-pass-for-cli', grid: '110105001002001' }],
      cascade: [{ sipId: PLATFORM_ID, host: '127.0.0.1', port: platformPort, password: 'city-pass-for-cli', keepaliveSeconds: 5 }],
    },
  });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  platform?.kill('SIGTERM');
  await platform?.code;
});

describe('gridedge sim nvr and sim platform', () => {
  it('registers a simulated NVR to the gateway, whose intrusion alarm becomes an incident', async () => {
    const nvr = gridedge(
      [
        'sim',
        'nvr',
        '--server',
        `127.0.0.1:${t.gateway.ports!.sip}`,
        '--server-id',
        GATEWAY_SIP_ID,
        '--alarm-every',
        '1',
        '--keepalive',
        '5',
      ],
      { GRIDEDGE_SIM_NVR_PASSWORD: 'nvr-pass-for-cli' },
    );
    try {
      await waitFor(
        'registered',
        () => nvr.stdout().includes(`simulated NVR ${NVR_ID} registered to ${GATEWAY_SIP_ID}`) || undefined,
        20_000,
      );
      const m = await t.waitForIncident('intrusion', (x) => x.category === 'camera.intrusion', 0, 20_000);
      expect(m.devices[0]).toMatchObject({ id: '11010500011310001001' });
      // The incident may come before the NVR has printed the 200 it got for the alarm.
      await waitFor(
        'the alarm acknowledged',
        () => /alarm sent: intrusion on 11010500011310001001 \(200 OK\)/.test(nvr.stdout()) || undefined,
      );
      // The platform above heard of the NVR's channels from the gateway.
      await waitFor('the catalog at the platform', () => platform.stdout().includes('11010500011310001002') || undefined, 20_000);
      expect(platform.stdout()).toContain(`${GATEWAY_SIP_ID} registered`);
    } finally {
      nvr.kill('SIGTERM');
      expect(await nvr.code).toBe(0);
    }
  }, 60_000);

  it('says so when the gateway refuses the NVR', async () => {
    const nvr = gridedge(['sim', 'nvr', '--server', `127.0.0.1:${t.gateway.ports!.sip}`, '--server-id', GATEWAY_SIP_ID], {
      GRIDEDGE_SIM_NVR_PASSWORD: 'not-its-password',
    });
    expect(await nvr.code).not.toBe(0);
    expect(nvr.stderr()).toContain(`the gateway refused the NVR (403): a wrong password, or ${NVR_ID} is not in its gb28181.devices`);
  }, 30_000);
});
