/** The scenario runner against a real gateway and a real upstream broker. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../sim/faults/proxy.js';
import {
  formatReport,
  loadScenario,
  runScenario,
  scenarioCameras,
  scenarioDevices,
  scenarioGb28181,
  scenarioSources,
  rng,
} from '../../sim/scenario/runner.js';
import { gridedge } from '../helpers/cli.js';
import { freePort, startMosquitto, startVictoriaMetrics, waitFor, type Mosquitto } from '../helpers/servers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

const EXAMPLE = fileURLToPath(new URL('../../sim/scenarios/residential-compound.yaml', import.meta.url));
let mosquitto: Mosquitto;
let t: TestGateway;

beforeAll(async () => {
  mosquitto = await startMosquitto();
  const scenario = await loadScenario(EXAMPLE);
  t = await startTestGateway({
    upstream: { url: mosquitto.url },
    devices: scenarioDevices(scenario).map((d) => ({ id: d.id, kind: d.kind, grid: d.grid, secret: d.secret, options: d.options })),
  });
});
afterAll(async () => {
  await t?.stop();
  await mosquitto?.stop();
});

describe('scenario runner', () => {
  it('is deterministic in its jitter for a seed', () => {
    const a = rng(7);
    const b = rng(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(rng(8)()).not.toBe(rng(7)());
  });

  it('plays the residential compound example and passes: every expected incident seen, in time, none unexpected', async () => {
    const report = await runScenario(await loadScenario(EXAMPLE), { target: t.brokerUrl, upstream: mosquitto.url });
    expect(formatReport(report)).toMatch(/PASS$/);
    expect(report.ok).toBe(true);
    expect(report.expectations.map((e) => [e.category, e.ok])).toEqual([
      ['fire.smoke_alarm', true],
      ['gas.leak', true],
      ['gas.leak_warning', true],
      ['lpg.cylinder_scrapped', true],
    ]);
    expect(report.latencyMs!.p99).toBeLessThan(5000);
    expect(report.sent['smoke-alarm']).toBeGreaterThan(8);
  }, 60_000);

  it('fails a scenario whose expectation is wrong, reporting the missed incident and the false alarm', async () => {
    const dir = await tempDir('sim');
    const file = path.join(dir, 'wrong.yaml');
    await writeFile(
      file,
      [
        'name: wrong expectation',
        'duration: 3',
        'fleet: [{ kind: smoke-alarm, count: 2, grid: "110105001002001", idPrefix: rc-smoke-, secret: rc-fleet-secret-1, ' +
          'telemetryEvery: 5 }]',
        'timeline: [{ at: 1, device: rc-smoke-1, do: alarm }]',
        'expect: [{ category: fire.smoke_alarm, device: rc-smoke-2, at: 1, within: 2 }]',
      ].join('\n'),
    );
    const report = await runScenario(await loadScenario(file), { target: t.brokerUrl, upstream: mosquitto.url });
    expect(report.ok).toBe(false);
    expect(report.missed).toBe(1);
    expect(report.falseAlarms).toEqual([expect.objectContaining({ category: 'fire.smoke_alarm', devices: ['rc-smoke-1'] })]);
    expect(formatReport(report)).toMatch(
      /FAILED {2}fire\.smoke_alarm from rc-smoke-2 {2}\(missed\)[\s\S]*false alarms: 1 \(fire\.smoke_alarm rc-smoke-1\)[\s\S]*FAIL$/,
    );
  }, 30_000);

  for (const name of ['lpg-filling-station', 'river-patrol', 'night-at-the-gate']) {
    it(`plays the ${name} example against a gateway configured from the scenario, and passes`, async () => {
      const file = fileURLToPath(new URL(`../../sim/scenarios/${name}.yaml`, import.meta.url));
      const scenario = await loadScenario(file);
      const gw = await startTestGateway(
        {
          upstream: { url: mosquitto.url },
          ...(scenario.gatewayKinds ? { kinds: scenario.gatewayKinds } : {}),
          devices: scenarioDevices(scenario).map((d) => ({ id: d.id, kind: d.kind, grid: d.grid, secret: d.secret, options: d.options })),
        },
        {},
        path.dirname(file),
      );
      try {
        const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url });
        expect(report.ok, formatReport(report)).toBe(true);
      } finally {
        await gw.stop();
      }
    }, 60_000);
  }

  it('plays the stormy evening through every fault (skew, repeats, reordering, slow links, garbage, a reconnect storm, the centre ' +
    'away) and nothing is lost or doubled', async () => {
    const file = fileURLToPath(new URL('../../sim/scenarios/stormy-evening.yaml', import.meta.url));
    const scenario = await loadScenario(file);
    const proxy = new FaultProxy({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: '127.0.0.1', port: Number(new URL(mosquitto.url).port) },
      name: 'upstream',
    });
    await proxy.start();
    const gw = await startTestGateway({
      upstream: { url: `mqtt://127.0.0.1:${proxy.port}` },
      devices: scenarioDevices(scenario).map((d) => ({ id: d.id, kind: d.kind, grid: d.grid, secret: d.secret, options: d.options })),
    });
    try {
      const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url, upstreamProxy: proxy });
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.faults.map((f) => f.type)).toEqual(['skew', 'duplicate', 'reorder', 'slow', 'garbage', 'disconnect', 'upstream-down']);
      expect(report.faults.find((f) => f.type === 'disconnect')!.devices).toBe(10);
      expect(proxy.cut).toBeGreaterThan(0); // the gateway's uplink was really cut
      // Garbage was refused and counted; repeats folded into the one incident per cause.
      expect(gw.gateway.counters.total('messages_rejected_total')).toBeGreaterThan(20);
      expect(gw.incidents.filter((m) => m.type === 'new' && m.category === 'fire.smoke_alarm')).toHaveLength(1);
      expect(formatReport(report)).toMatch(/fault: upstream-down at 6 s: 4 s/);
    } finally {
      await gw.stop();
      await proxy.stop();
    }
  }, 90_000);

  it('plays the gate camera example: a simulated ONVIF camera in the fleet, its plates and flames found by the ' +
    "gateway's detectors", async () => {
    const dir = await tempDir('sim-camera');
    const file = path.join(dir, 'gate-camera.yaml');
    const example = fileURLToPath(new URL('../../sim/scenarios/gate-camera.yaml', import.meta.url));
    const [onvifPort, rtspPort] = [await freePort(), await freePort()];
    await writeFile(
      file,
      (await readFile(example, 'utf8'))
        .replace('onvifPort: 18600', `onvifPort: ${onvifPort}`)
        .replace('rtspPort: 18650', `rtspPort: ${rtspPort}`),
    );
    const scenario = await loadScenario(file);
    const print = gridedge(['sim', '--scenario', file, '--print-devices']);
    expect(await print.code).toBe(0);
    expect(print.stdout()).toMatch(
      new RegExp(
        `cameras:\\n {2}- id: gate-onvif-1\\n {4}grid: "110105001002004"\\n {4}onvif: http://127.0.0.1:${onvifPort}/onvif/device_service`,
      ),
    );
    const gw = await startTestGateway({
      upstream: { url: mosquitto.url },
      kinds: scenario.gatewayKinds,
      cameras: scenarioCameras(scenario),
    });
    try {
      const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url });
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.sent['onvif-camera']).toBe(3);
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it("plays the smart cameras example: a Hikvision and a Dahua camera's own analytics raise every incident", async () => {
    const dir = await tempDir('sim-smart');
    const file = path.join(dir, 'smart-cameras.yaml');
    const example = fileURLToPath(new URL('../../sim/scenarios/smart-cameras.yaml', import.meta.url));
    const [hik, dahua] = [await freePort(), await freePort()];
    await writeFile(
      file,
      (await readFile(example, 'utf8')).replace('port: 18700', `port: ${hik}`).replace('port: 18710', `port: ${dahua}`),
    );
    const scenario = await loadScenario(file);
    const print = gridedge(['sim', '--scenario', file, '--print-devices']);
    expect(await print.code).toBe(0);
    expect(print.stdout()).toContain(`isapi: http://127.0.0.1:${hik}`);
    expect(print.stdout()).toContain(`dahua: http://127.0.0.1:${dahua}`);
    const gw = await startTestGateway({
      upstream: { url: mosquitto.url },
      kinds: scenario.gatewayKinds,
      cameras: scenarioCameras(scenario),
    });
    try {
      const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url });
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.sent).toMatchObject({ 'isapi-camera': 3, 'dahua-camera': 3 });
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('plays the NVR example: a simulated GB/T 28181 NVR registers, its channel is read for plates, its alarm raised', async () => {
    const dir = await tempDir('sim-nvr');
    const file = path.join(dir, 'nvr-at-the-gate.yaml');
    const example = fileURLToPath(new URL('../../sim/scenarios/nvr-at-the-gate.yaml', import.meta.url));
    const sipPort = await freePort();
    await writeFile(file, (await readFile(example, 'utf8')).replace('sipPort: 15060', `sipPort: ${sipPort}`));
    const scenario = await loadScenario(file);
    const print = gridedge(['sim', '--scenario', file, '--print-devices']);
    expect(await print.code).toBe(0);
    expect(print.stdout()).toMatch(
      new RegExp(`gb28181:\\n {2}port: ${sipPort}\\n {2}devices:\\n {4}- id: "?11010500011180000001"?\\n {6}password: nvr-digest-pass`),
    );
    const gw = await startTestGateway({
      upstream: { url: mosquitto.url },
      kinds: scenario.gatewayKinds,
      vision: { workers: 1, trackMissedFrames: 2 },
      gb28181: { ...scenarioGb28181(scenario)!, host: '127.0.0.1', publicHost: '127.0.0.1', media: { portMin: 36000, portMax: 36999 } },
    });
    try {
      const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url });
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.sent['gb28181-nvr']).toBe(3);
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('plays the platforms example: CTWing, OneNET and zigbee2mqtt smoke alarms; LoRaWAN and Modbus gas leaks, valves shut', async () => {
    const file = fileURLToPath(new URL('../../sim/scenarios/sensors-through-platforms.yaml', import.meta.url));
    const scenario = await loadScenario(file);
    const print = gridedge(['sim', '--scenario', file, '--print-devices']);
    expect(await print.code).toBe(0);
    const { devices, sources } = scenarioSources(scenario);
    // What is printed is what the gateway is given below: each device with its source and external id.
    expect(print.stdout()).toContain(
      `  - id: nb-smoke-1\n    kind: smoke-alarm\n    grid: "110105001002005"\n    source:\n      type: ctwing`,
    );
    expect(print.stdout()).toMatch(/sources:\n {2}ctwing:\n {4}token: ctwing-push-token-0123456789\n {2}chirpstack:\n {4}url: mqtt:/);
    expect(devices.find((d) => d.id === 'nb-smoke-1')!.source.id).toMatch(/^86\d{13}$/);
    expect(devices.find((d) => d.id === 'lora-gas-1')).toMatchObject({
      options: { valve: true },
      source: { id: expect.stringMatching(/^24e124[0-9a-f]{10}$/) },
    });
    const modbusPort = await freePort();
    const gw = await startTestGateway({
      upstream: { url: mosquitto.url },
      devices,
      sources: {
        ...sources,
        chirpstack: { ...sources.chirpstack, url: mosquitto.url },
        zigbee2mqtt: { ...sources.zigbee2mqtt, url: mosquitto.url },
        modbus: { controllers: [{ ...(sources.modbus as { controllers: object[] }).controllers[0], port: modbusPort }] },
      },
    });
    try {
      for (const f of scenario.fleet)
        f.options = {
          ...f.options,
          ...(['ctwing-smoke', 'onenet-smoke'].includes(f.kind)
            ? { api: gw.apiUrl }
            : f.kind === 'modbus-gas'
              ? { port: modbusPort }
              : { broker: mosquitto.url }),
        };
      const report = await runScenario(scenario, { target: gw.brokerUrl, upstream: mosquitto.url });
      expect(report.ok, formatReport(report)).toBe(true);
      expect(report.sent['ctwing-smoke']).toBeGreaterThanOrEqual(4 + 3 * 3); // the timeline's four and each alarm's readings
      // The leak's valve_close went down to the detector, which shut it and said so: the incident carries the confirmation.
      const leak = await waitFor('valve confirmed', async () =>
        gw.incidents.find((m) => m.category === 'gas.leak' && m.facts.valveShut === 'confirmed' && m.facts.valve === 'closed'),
      );
      expect(leak.devices[0]!.id).toBe('lora-gas-1');
      expect(report.sent['zigbee2mqtt-hs1sa']).toBeGreaterThanOrEqual(2);
      expect(report.sent['onenet-smoke']).toBeGreaterThanOrEqual(2);
      // The Modbus leak's valve_close went to the controller as a coil write, and its valve is shut.
      await waitFor('modbus valve', async () =>
        gw.incidents.find((m) => m.category === 'gas.leak' && m.devices[0]?.id === 'kitchen-gas-2' && m.facts.valve === 'closed'),
      );
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('runs batteries down as the scenario says', async () => {
    const base = await loadScenario(EXAMPLE);
    const scenario = {
      ...base,
      duration: 3,
      timeline: [],
      expect: [],
      failOnFalseAlarms: false,
      fleet: [{ ...base.fleet[0]!, count: 2, telemetryEvery: 0.5, batteryDrainPerHour: 100 }],
    };
    await runScenario(scenario, { target: t.brokerUrl });
    // Two readings a second for 3 s: 0.01 % each by the alarm's own drain, about 0.08 % more by the scenario's.
    const battery = t.gateway.pipeline.deviceState('rc-smoke-1').lastValues.battery as number;
    expect(battery).toBeLessThan(99.92);
    expect(battery).toBeGreaterThan(99.5);
  }, 30_000);

  it('takes the series server down through its proxy: the readings wait in the spool and every one is stored after', async () => {
    const vm = await startVictoriaMetrics();
    const proxy = new FaultProxy({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: vm.port }, name: 'series' });
    await proxy.start();
    const base = await loadScenario(EXAMPLE);
    const scenario = {
      ...base,
      duration: 5,
      timeline: [],
      expect: [],
      failOnFalseAlarms: false,
      fleet: [{ ...base.fleet[0]!, count: 3, idPrefix: 'sd-smoke-', telemetryEvery: 0.2 }],
      faults: [{ type: 'series-down' as const, at: 1, seconds: 2, fraction: 1 }],
    };
    const gw = await startTestGateway({
      influx: {
        url: `http://127.0.0.1:${proxy.port}`,
        token: 't',
        org: 'o',
        bucket: 'b',
        flushIntervalMs: 50,
        batchSize: 200,
        maxRetries: 0,
        replayIntervalMs: 300,
      },
      devices: scenarioDevices(scenario).map((d) => ({ id: d.id, kind: d.kind, grid: d.grid, secret: d.secret })),
    });
    try {
      const report = await runScenario(scenario, { target: gw.brokerUrl, seriesProxy: proxy });
      expect(report.faults).toEqual([{ type: 'series-down', at: 1, devices: 0, detail: '2 s' }]);
      const readings = report.sent['smoke-alarm']!;
      await waitFor(
        'every reading stored',
        async () => {
          const series = await vm.exportSeries('smoke_alarm_battery');
          return series.reduce((n, x) => n + x.values.length, 0) >= readings || undefined;
        },
        30_000,
      );
      expect(proxy.cut).toBeGreaterThan(0);
      expect(gw.gateway.spool.stats().written).toBeGreaterThan(0); // the outage really went through the spool
    } finally {
      await gw.stop();
      await proxy.stop();
      await vm.stop();
    }
  }, 60_000);

  it('refuses fault settings that do not fit their type', async () => {
    const dir = await tempDir('sim-faults');
    const file = path.join(dir, 'faults.yaml');
    await writeFile(
      file,
      'name: f\nduration: 1\nfleet: [{ kind: smoke-alarm, count: 1, grid: "110105001002001", idPrefix: t-, secret: secret-123 ' +
        '}]\nfaults: [{ type: garbage, at: 3, until: 2 }, { type: disconnect, at: 1 }, { type: slow, kind: drone, delayMs: 5 }]\n',
    );
    await expect(loadScenario(file)).rejects.toThrow(
      new RegExp(
        [
          String.raw`faults\[0\]\.rate: garbage needs payloads per second`,
          String.raw`faults\[0\]\.until: must be after at \(3\)`,
          String.raw`faults\[1\]\.seconds: disconnect needs how long it lasts`,
          String.raw`faults\[2\]\.kind: no drone in the fleet`,
        ].join(String.raw`[\s\S]*`),
      ),
    );
    const noProxy = await loadScenario(fileURLToPath(new URL('../../sim/scenarios/stormy-evening.yaml', import.meta.url)));
    await expect(
      runScenario(
        { ...noProxy, fleet: [{ ...noProxy.fleet[0]!, count: 1 }], timeline: [], expect: [], faults: [noProxy.faults.at(-1)!] },
        { target: t.brokerUrl },
      ),
    ).rejects.toThrow(/give --upstream-proxy/);
  });

  it('refuses a scenario with mistakes, naming each one', async () => {
    const dir = await tempDir('sim');
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      'name: bad\nduration: 1\nfleet: [{ kind: toaster, count: 1, grid: "110105001002001", idPrefix: t-, secret: secret-123 ' +
        '}]\ntimeline: [{ at: 0, device: nobody, do: x }]\n',
    );
    await expect(loadScenario(file)).rejects.toThrow(
      /fleet\[0\]\.kind: "toaster" has no simulator[\s\S]*timeline\[0\]\.device: "nobody" is not in the fleet/,
    );
    // Devices behind a platform: where the platform sends to, a push token CTWing can carry, their own actions.
    const sourced = path.join(dir, 'sourced.yaml');
    await writeFile(
      sourced,
      'name: bad\nduration: 1\nfleet:\n' +
        '  - { kind: ctwing-smoke, count: 1, grid: "110105001002001", idPrefix: nb-, secret: "short/one", options: { api: "ftp://x" } }\n' +
        '  - { kind: chirpstack-gs101, count: 1, grid: "110105001002001", idPrefix: gs-, secret: secret-123,' +
        ' options: { applicationId: app } }\n' +
        'timeline: [{ at: 0, device: gs-1, do: alarm }]\n',
    );
    const err = await loadScenario(sourced).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toContain('fleet[0].options.api: "ftp://x" is not a http: or https: URL');
    expect(err).toContain('fleet[0].secret: the push URL token');
    expect(err).toContain("fleet[1].options.broker: the site's ChirpStack MQTT broker");
    expect(err).toContain("fleet[1].options.applicationId: ChirpStack's application UUID");
    expect(err).toContain('timeline[0].do: "alarm" is not an action of chirpstack-gs101 (known: leak, clear, fault)');
  });

  it('prints the fleet as a devices section for the gateway, and asks for --target before running', async () => {
    const print = gridedge(['sim', '--scenario', EXAMPLE, '--print-devices']);
    expect(await print.code).toBe(0);
    expect(print.stdout()).toMatch(/^devices:\n {2}- id: rc-smoke-1\n {4}kind: smoke-alarm\n {4}grid: "110105001002001"/);
    const withKinds = gridedge([
      'sim',
      '--scenario',
      fileURLToPath(new URL('../../sim/scenarios/river-patrol.yaml', import.meta.url)),
      '--print-devices',
    ]);
    expect(await withKinds.code).toBe(0);
    expect(withKinds.stdout()).toMatch(/^kinds:\n {2}drone:\n {4}lowBatteryPercent: 25/m);
    const noTarget = gridedge(['sim', '--scenario', EXAMPLE]);
    expect(await noTarget.code).toBe(2);
    expect(noTarget.stderr()).toContain('--target is needed');
  });
});
