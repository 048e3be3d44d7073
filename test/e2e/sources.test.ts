/**
 * Devices that do not speak gridedge JSON, through their sources over a real broker
 * (mosquitto as the site's zigbee2mqtt and ChirpStack broker): a Heiman smoke detector and gas
 * detector on zigbee2mqtt, a Milesight smoke detector and gas detector on LoRaWAN, mapped onto
 * the smoke-alarm and gas-sensor kinds, whose rules raise the incidents; a bad frame is refused
 * and kept for that device without disturbing another's; unknown devices are counted and the
 * bridge's list offers what can be adopted; the source's broker going away takes its devices
 * offline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { SimulatedChirpstack } from '../../sim/sources/chirpstack.js';
import { SimulatedCtwing } from '../../sim/sources/ctwing.js';
import { SimulatedOnenet } from '../../sim/sources/onenet.js';
import { SimulatedZigbee2mqtt } from '../../sim/sources/zigbee2mqtt.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type Mosquitto, startMosquitto, waitFor } from '../helpers/servers.js';

const READ = 'read-token-0123456789';
const SMOKE_EUI = '24e124538b223213';
const GAS_EUI = '24e124148b447001';
const CT_TOKEN = 'ctwing-push-secret-0123456789';
const CT_SMOKE = { imei: '861234567890123' };
const CT_SMOKE_2 = { imei: '861234567890124' };
let site: Mosquitto;
let t: TestGateway;
let z2m: SimulatedZigbee2mqtt;
let lora: SimulatedChirpstack;

beforeAll(async () => {
  site = await startMosquitto();
  z2m = await SimulatedZigbee2mqtt.connect(site.url, [
    { friendlyName: 'stairwell/smoke', ieee: '0x00158d0001a2b3c4', model: 'HS1SA', vendor: 'Heiman' },
    { friendlyName: 'kitchen gas', ieee: '0x00158d0001a2b3c5', model: 'HS1CG', vendor: 'Heiman' },
    { friendlyName: 'not-configured', ieee: '0x00158d0001a2b3c6', model: 'HS1SA', vendor: 'Heiman' },
    { friendlyName: 'pump room leak', ieee: '0x00158d0001a2b3c7', model: 'SJCGQ11LM', vendor: 'Aqara' },
  ]);
  lora = await SimulatedChirpstack.connect(site.url);
  t = await startTestGateway({
    api: { host: '127.0.0.1', port: 0, tokens: [{ name: 'screen', token: READ, role: 'read' }] },
    sources: {
      zigbee2mqtt: { url: site.url, offlineAfterSeconds: 2 },
      chirpstack: { url: site.url, offlineAfterSeconds: 2 },
      onenet: { token: 'onenet-push-token-1' },
      ctwing: { token: CT_TOKEN },
    },
    devices: [
      // Named by friendly name, and by IEEE address (found through bridge/devices).
      { id: 'z-smoke', kind: 'smoke-alarm', source: { type: 'zigbee2mqtt', id: 'stairwell/smoke', model: 'heiman-hs1sa' } },
      { id: 'z-gas', kind: 'gas-sensor', source: { type: 'zigbee2mqtt', id: '0x00158d0001a2b3c5', model: 'heiman-hs1cg' } },
      { id: 'z-water', kind: 'water-leak', source: { type: 'zigbee2mqtt', id: 'pump room leak', model: 'aqara-water-leak' } },
      { id: 'l-smoke', kind: 'smoke-alarm', source: { type: 'chirpstack', id: SMOKE_EUI.toUpperCase(), model: 'milesight-gs524n' } },
      { id: 'l-gas', kind: 'gas-sensor', source: { type: 'chirpstack', id: GAS_EUI, model: 'milesight-gs101' }, options: { valve: true } },
      { id: 'nb-smoke', kind: 'smoke-alarm', source: { type: 'onenet', id: '863412045678901', model: 'onenet-ipso-smoke' } },
      { id: 'nb-gas', kind: 'gas-sensor', source: { type: 'onenet', id: '863412045678902', model: 'onenet-ipso-gas' } },
      { id: 'ct-smoke', kind: 'smoke-alarm', source: { type: 'ctwing', id: CT_SMOKE.imei, model: 'ctwing-smoke' } },
      { id: 'ct-smoke-2', kind: 'smoke-alarm', source: { type: 'ctwing', id: CT_SMOKE_2.imei, model: 'ctwing-smoke' } },
    ],
  });
  await waitFor('sources connected', async () => {
    const s = (await (await fetch(`${t.apiUrl}/api/sources`, { headers: { authorization: `Bearer ${READ}` } })).json()) as Array<{
      source: string;
      connected: boolean;
    }>;
    const pushed = new Set(['onenet', 'ctwing']);
    return s.filter((x) => !pushed.has(x.source)).every((x) => x.connected) && s.length === 4 ? true : undefined;
  });
}, 30_000);

afterAll(async () => {
  await z2m?.close();
  await lora?.close();
  await t?.stop();
  await site?.stop();
});

async function sources() {
  return (await (await fetch(`${t.apiUrl}/api/sources`, { headers: { authorization: `Bearer ${READ}` } })).json()) as Array<{
    source: string;
    connected: boolean;
    unknown: string[];
    inventory: Array<{ externalId: string; model?: string; adopted: boolean; suggested?: string }>;
  }>;
}

describe('zigbee2mqtt', () => {
  it('raises fire.smoke_alarm from a Heiman smoke detector, and resolves it when the smoke clears', async () => {
    const from = t.incidents.length;
    await z2m.state('stairwell/smoke', { smoke: true, battery: 90, battery_low: false, tamper: false, linkquality: 110 });
    const m = await t.waitForIncident('smoke alarm', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'z-smoke', from);
    expect(m.type).toBe('new');
    await z2m.state('stairwell/smoke', { smoke: false, battery: 90, battery_low: false, tamper: false, linkquality: 110 });
    await t.waitForIncident('resolved', (x) => x.id === m.id && x.status === 'resolved', from);
  });

  it('takes a state published by mosquitto_pub (a client we did not write), as zigbee2mqtt would publish it', async () => {
    const from = t.incidents.length;
    const state = JSON.stringify({ battery: 71, battery_low: false, smoke: true, tamper: false, linkquality: 87 });
    const args = ['-h', '127.0.0.1', '-p', String(site.port), '-q', '1', '-t', 'zigbee2mqtt/stairwell/smoke', '-m', state];
    await promisify(execFile)('mosquitto_pub', args);
    const m = await t.waitForIncident(
      'smoke by mosquitto_pub',
      (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'z-smoke',
      from,
    );
    await z2m.state('stairwell/smoke', { smoke: false, battery: 71, battery_low: false, tamper: false, linkquality: 87 });
    await t.waitForIncident('resolved', (x) => x.id === m.id && x.status === 'resolved', from);
  });

  it('finds a device named by its IEEE address, and raises gas.leak from a Heiman gas detector', async () => {
    const from = t.incidents.length;
    await z2m.state('kitchen gas', { gas: true, tamper: false, linkquality: 150 });
    const m = await t.waitForIncident('gas leak', (x) => x.category === 'gas.leak' && x.devices[0]!.id === 'z-gas', from);
    expect(m.facts.lel).toBe(30);
  });

  it('raises water.leak from an Aqara leak sensor, and resolves it when it is dry', async () => {
    const from = t.incidents.length;
    await z2m.state('pump room leak', { water_leak: true, battery: 83, battery_low: false, linkquality: 102 });
    const m = await t.waitForIncident('water leak', (x) => x.category === 'water.leak' && x.devices[0]!.id === 'z-water', from);
    await z2m.state('pump room leak', { water_leak: false, battery: 83, battery_low: false, linkquality: 102 });
    await t.waitForIncident('dry', (x) => x.id === m.id && x.status === 'resolved', from);
  });

  it('lists what the bridge offers for adoption, with the model to use', async () => {
    await z2m.state('not-configured', { smoke: false });
    const z = (await sources()).find((s) => s.source === 'zigbee2mqtt')!;
    expect(z.inventory).toContainEqual({
      externalId: 'not-configured',
      model: 'HS1SA',
      vendor: 'Heiman',
      adopted: false,
      suggested: 'heiman-hs1sa',
    });
    expect(z.inventory.find((i) => i.externalId === 'stairwell/smoke')?.adopted).toBe(true);
    expect(z.unknown).toContain('not-configured');
  });

  it("refuses a state the model cannot read, for that device only, and keeps it among the device's rejections", async () => {
    await z2m.raw('stairwell/smoke', '{"smoke":"maybe"}');
    await z2m.raw('stairwell/smoke', 'not json');
    await z2m.state('kitchen gas', { gas: false, tamper: false });
    const detail = await waitFor('rejections', async () => {
      const d = (await (await fetch(`${t.apiUrl}/api/devices/z-smoke`, { headers: { authorization: `Bearer ${READ}` } })).json()) as {
        rejections: Array<{ reason: string; detail: string }>;
      };
      return d.rejections.length >= 2 ? d : undefined;
    });
    expect(detail.rejections.map((r) => r.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/heiman-hs1sa: state has no boolean smoke/),
        expect.stringMatching(/not a JSON object/),
      ]),
    );
    // The other device's message went through: its leak resolved.
    await t.waitForIncident('gas leak resolved', (x) => x.category === 'gas.leak' && x.status === 'resolved');
  });
});

describe('LoRaWAN through ChirpStack', () => {
  it('raises fire.smoke_alarm from a Milesight GS524N alarm frame, with the battery and temperature as series', async () => {
    const from = t.incidents.length;
    // Alarm (message type 1) at 100 % battery, 20 % obscuration, 31 °C; checksum makes the bytes sum to 0.
    const frame = Buffer.from([0x22, 0x11, 0x64, 0x14, 0x1f, 0]);
    frame[5] = (0x100 - (frame.subarray(0, 5).reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
    await lora.uplink({ devEui: SMOKE_EUI, name: 'boiler room', profile: 'GS524N' }, frame);
    const m = await t.waitForIncident('lora smoke', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'l-smoke', from);
    expect(Number(m.facts.smokeDensity)).toBeCloseTo(0.969, 2);
  });

  it('raises gas.leak from a Milesight GS101 frame, shuts its valve by downlink, and takes its next report as confirmation', async () => {
    const from = t.incidents.length;
    const gs101 = { devEui: GAS_EUI, name: 'restaurant', profile: 'GS101' };
    // mosquitto_sub (a client we did not write) sees the downlink on the wire as ChirpStack would take it.
    const topic = `application/+/device/${GAS_EUI}/command/down`;
    // Line-buffered (stdbuf): into a pipe, its SUBACK line would wait in stdio's buffer until it exits.
    const sub = spawn(
      'stdbuf',
      ['-oL', 'mosquitto_sub', '-d', '-h', '127.0.0.1', '-p', String(site.port), '-q', '1', '-C', '1', '-W', '20', '-t', topic],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let seen = '';
    sub.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    const subDone = new Promise((r) => sub.once('exit', r));
    await waitFor('mosquitto_sub subscribed', () => (seen.includes('SUBACK') ? true : undefined));
    await lora.uplink(gs101, Buffer.from('058e01060101', 'hex'));
    await t.waitForIncident('lora gas', (x) => x.category === 'gas.leak' && x.devices[0]!.id === 'l-gas', from);
    // The valve_close goes down as ChirpStack's command/down for that device: port 85, 06 00 00 FF.
    const down = await waitFor('valve downlink', async () => lora.downlinks.find((d) => d.devEui === GAS_EUI));
    expect(down).toMatchObject({ fPort: 85, confirmed: true, topic: `application/${lora.applicationId}/device/${GAS_EUI}/command/down` });
    expect(down.data.toString('hex')).toBe('060000ff');
    await subDone;
    const onWire = JSON.parse(
      seen
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1) ?? '{}',
    ) as { devEui?: string; fPort?: number; data?: string };
    expect(onWire).toMatchObject({ devEui: GAS_EUI, fPort: 85, confirmed: true });
    expect(Buffer.from(onWire.data ?? '', 'base64').toString('hex')).toBe('060000ff');
    // The detector reports its valve off alone (as it does when the valve changes): that confirms the shut.
    await lora.uplink(gs101, Buffer.from('060100', 'hex'));
    await t.waitForIncident(
      'valve confirmed',
      (x) => x.category === 'gas.leak' && x.devices[0]!.id === 'l-gas' && x.facts.valveShut === 'confirmed' && x.facts.valve === 'closed',
      from,
    );
    await lora.uplink({ devEui: GAS_EUI, name: 'restaurant', profile: 'GS101' }, Buffer.from('ff3f02', 'hex'));
    await t.waitForIncident('sensor failure', (x) => x.category === 'device.fault' && x.devices[0]!.id === 'l-gas', from);
  });

  it('refuses a corrupt frame, a body that names another device, and counts an unknown DevEUI', async () => {
    await lora.uplink({ devEui: SMOKE_EUI, name: 'boiler room', profile: 'GS524N' }, Buffer.from('221E64001C41', 'hex'));
    await lora.uplink({ devEui: SMOKE_EUI, name: 'boiler room', profile: 'GS524N' }, Buffer.from('221E64001C40', 'hex'), 85, {
      deviceInfo: { devEui: GAS_EUI },
    });
    await lora.uplink({ devEui: 'a84041000181c0de', name: 'stranger', profile: 'x' }, Buffer.from('00', 'hex'));
    const detail = await waitFor('rejections', async () => {
      const d = (await (await fetch(`${t.apiUrl}/api/devices/l-smoke`, { headers: { authorization: `Bearer ${READ}` } })).json()) as {
        rejections: Array<{ detail: string }>;
      };
      return d.rejections.length >= 2 ? d : undefined;
    });
    expect(detail.rejections.map((r) => r.detail)).toEqual(
      expect.arrayContaining([expect.stringMatching(/checksum/), expect.stringMatching(/deviceInfo.devEui differs/)]),
    );
    await waitFor('unknown counted', async () =>
      (await sources()).find((s) => s.source === 'chirpstack')!.unknown.includes('a84041000181c0de') ? true : undefined,
    );
  });
});

describe('NB-IoT through OneNET data push', () => {
  const push = () => new SimulatedOnenet(`${t.apiUrl}/push/onenet`, 'onenet-push-token-1');

  it("passes OneNET's URL check with the right token only", async () => {
    expect((await push().verifyUrl()).ok).toBe(true);
    expect(await push().verifyUrl('a-wrong-token')).toMatchObject({ status: 403, ok: false });
  });

  it('raises fire.smoke_alarm from a pushed IPSO alarm state, taking OneNET retries once', async () => {
    const from = t.incidents.length;
    const at = Date.now();
    // OneNET pushes again whatever it got no 200 for: here three times the same message.
    expect(await push().push([{ imei: '863412045678901', ds_id: '3200_0_5500', value: 1, at }], { repeat: 2, spaced: true })).toBe(200);
    const m = await t.waitForIncident('nb smoke', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'nb-smoke', from);
    expect(m.count).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.incidents.slice(from).filter((x) => x.id === m.id)).toHaveLength(1); // the retries changed nothing
    expect(t.gateway.counters.get('source_duplicates_total', { source: 'onenet' })).toBe(2);
    await push().push([{ imei: '863412045678901', ds_id: '3200_0_5500', value: 0 }]);
    await t.waitForIncident('nb smoke cleared', (x) => x.id === m.id && x.status === 'resolved', from);
  });

  it('raises gas.leak from a pushed concentration, and refuses a push signed with another token', async () => {
    const from = t.incidents.length;
    expect(await push().push([{ imei: '863412045678902', ds_id: '3300_0_5700', value: 41 }], { token: 'not-the-token' })).toBe(403);
    expect(t.gateway.counters.get('source_refused_total', { source: 'onenet' })).toBeGreaterThanOrEqual(1);
    expect(await push().push([{ imei: '863412045678902', ds_id: '3300_0_5700', value: 41 }])).toBe(200);
    const m = await t.waitForIncident('nb gas', (x) => x.category === 'gas.leak' && x.devices[0]!.id === 'nb-gas', from);
    expect(m.facts.lel).toBe(41);
    expect(t.incidents.slice(from).filter((x) => x.category === 'gas.leak')).toHaveLength(1);
    const res = await fetch(`${t.apiUrl}/push/onenet`, { method: 'POST', body: 'not json' });
    expect(res.status).toBe(400);
  });

  it('takes an offline status as the device unreachable', async () => {
    const from = t.incidents.length;
    expect(await push().status('863412045678902', false)).toBe(200);
    await t.waitForIncident('nb offline', (x) => x.category === 'device.offline' && x.devices[0]!.id === 'nb-gas', from);
  });
});

describe('NB-IoT through CTWing subscription push', () => {
  const url = () => `${t.apiUrl}/push/ctwing?token=${CT_TOKEN}`;

  it('refuses a push without the URL token or with another, before reading it, and counts it', async () => {
    const before = t.gateway.counters.get('source_refused_total', { source: 'ctwing' });
    const from = t.incidents.length;
    const sim = new SimulatedCtwing(`${t.apiUrl}/push/ctwing`);
    expect(await sim.report(CT_SMOKE, { smoke_state: 1 }, { repeat: 0 })).toBe(403);
    expect(await sim.report(CT_SMOKE, { smoke_state: 1 }, { repeat: 0, url: `${t.apiUrl}/push/ctwing?token=not-the-secret-xxxxxxx` })).toBe(
      403,
    );
    expect(t.gateway.counters.get('source_refused_total', { source: 'ctwing' })).toBe(before + 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(t.incidents.slice(from).filter((x) => x.devices[0]?.id === 'ct-smoke')).toHaveLength(0);
  });

  it("raises fire.smoke_alarm from an object-model report, takes CTWing's retries once, and resolves on a profile's clear", async () => {
    const from = t.incidents.length;
    const sim = new SimulatedCtwing(url());
    const dupes = t.gateway.counters.get('source_duplicates_total', { source: 'ctwing' });
    // The same message three times (its answers lost on the way back): taken once.
    expect(await sim.report(CT_SMOKE, { smoke_state: 1, battery_value: 88 }, { repeat: 2 })).toBe(200);
    const m = await t.waitForIncident('ct smoke', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'ct-smoke', from);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.incidents.slice(from).filter((x) => x.id === m.id && x.status !== 'resolved')).toHaveLength(1);
    expect(t.gateway.counters.get('source_duplicates_total', { source: 'ctwing' })).toBe(dupes + 2);
    expect(await sim.report(CT_SMOKE, { smoke_state: 0 }, { serviceId: 1 })).toBe(200);
    await t.waitForIncident('ct smoke cleared', (x) => x.id === m.id && x.status === 'resolved', from);
  });

  it("refuses what the model cannot read, for that device only, and keeps it among the device's rejections", async () => {
    const sim = new SimulatedCtwing(url());
    expect(await sim.report(CT_SMOKE_2, { smoke_state: 'maybe' })).toBe(200); // answered: a retry would not read better
    const d = (await (await fetch(`${t.apiUrl}/api/devices/ct-smoke-2`, { headers: { authorization: `Bearer ${READ}` } })).json()) as {
      rejections?: Array<{ reason: string }>;
    };
    expect(JSON.stringify(d.rejections ?? [])).toContain('smoke_state');
    const res = await fetch(url(), { method: 'POST', body: '{"messageType":' });
    expect(res.status).toBe(400);
  });

  it('takes an alarm pushed by curl (an HTTP client we did not write)', async () => {
    const from = t.incidents.length;
    // The message as CTWing writes it; curl sends it.
    const body = JSON.stringify(new SimulatedCtwing(url()).dataReport(CT_SMOKE_2, { smoke_state: 1, battery_value: 64 }));
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/json',
      '--data-binary',
      body,
      url(),
    ]);
    expect(stdout).toBe('200');
    await t.waitForIncident('ct smoke by curl', (x) => x.category === 'fire.smoke_alarm' && x.devices[0]!.id === 'ct-smoke-2', from);
  });

  it('takes an offline report as the device unreachable, and its online report as its return', async () => {
    const from = t.incidents.length;
    const sim = new SimulatedCtwing(url());
    expect(await sim.online(CT_SMOKE, false)).toBe(200);
    const m = await t.waitForIncident('ct offline', (x) => x.category === 'device.offline' && x.devices[0]!.id === 'ct-smoke', from);
    expect(await sim.online(CT_SMOKE, true)).toBe(200);
    await t.waitForIncident('ct online', (x) => x.id === m.id && x.status === 'resolved', from);
  });
});

describe('a source that goes away', () => {
  it('reports its devices offline through their kinds, and nothing else is disturbed', async () => {
    const from = t.incidents.length;
    await site.pause();
    try {
      const offline = await waitFor(
        'devices offline',
        () => {
          const ids = new Set(
            t.incidents
              .slice(from)
              .filter((x) => x.category === 'device.offline')
              .map((x) => x.devices[0]!.id),
          );
          return ['z-smoke', 'z-gas', 'z-water', 'l-smoke', 'l-gas'].every((id) => ids.has(id)) ? ids : undefined;
        },
        15_000,
      );
      // Every device of the two broker sources; OneNET's push devices are not behind that broker.
      expect([...offline].sort()).toEqual(['l-gas', 'l-smoke', 'z-gas', 'z-smoke', 'z-water']);
      expect(t.gateway.health().broker).toBeDefined(); // the gateway itself carries on
    } finally {
      await site.resume();
    }
  }, 30_000);
});
