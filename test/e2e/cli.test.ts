/** The `gridedge` command as a user runs it: the built CLI in a child process. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import type { GatewayStatus } from '../../contracts/topics.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { gridedge } from '../helpers/cli.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { freePort, startMosquitto, waitFor, type Mosquitto } from '../helpers/servers.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

let mosquitto: Mosquitto;
beforeAll(async () => {
  mosquitto = await startMosquitto();
});
afterAll(async () => {
  await mosquitto?.stop();
});

describe('gridedge demo', () => {
  it('runs a gateway with simulated alarms, prints one line per incident and publishes them upstream', async () => {
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/#');
    const dataDir = await tempDir('demo');
    const run = gridedge([
      'demo',
      '--duration',
      '7',
      '--alarm-every',
      '4',
      '--devices',
      '3',
      '--broker-port',
      String(await freePort()),
      '--api-port',
      String(await freePort()),
      '--data-dir',
      dataDir,
      '--upstream',
      mosquitto.url,
    ]);
    expect(await run.code).toBe(0);
    const out = run.stdout();
    expect(out).toMatch(/gridedge demo: gateway demo-gw, grid 110105001002000/);
    expect(out).toMatch(/console\s+http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{24}\s/); // opens signed in
    expect(out).toMatch(/NEW\s+fire\.smoke_alarm\s+critical\s+open\s+grid 11010500100200[12]\s+smoke-001-01/);
    expect(out).toMatch(/UPDATE\s+fire\.smoke_alarm .* count 2 /);
    // Clock times in the site's zone (Beijing), each with its offset.
    expect(out).toMatch(/^\d{2}:\d{2}:\d{2} UTC\+8 {2}NEW /m);
    // npm test installs ffmpeg and GStreamer, so the demo has its simulated camera, and the
    // alarm in the camera's cell gets a snapshot.
    expect(out).toMatch(/camera\s+http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service \(simulated ONVIF/);
    expect(out).toMatch(/fire\.smoke_alarm .*grid 110105001002001 .* evidence snapshot /);
    expect(out).toMatch(/gridedge demo: \d+ messages in, \d+ incident messages, 0 rejected/);
    // And the GB/T 28181 part: the NVR registered, the gateway registered to the city platform with the cameras in its catalog.
    expect(out).toMatch(/GB\/T 28181\s+SIP udp\+tcp 127\.0\.0\.1:\d+ .*a simulated NVR 11010500011180000001 registered/);
    expect(out).toMatch(/the city platform had the gateway registered with [1-9]\d* channels in its catalog/);
    const incidents = platform.json<IncidentMessage>('/incident').map(assertIncident);
    expect(incidents.length).toBeGreaterThanOrEqual(2);
    expect(incidents[0]).toMatchObject({ type: 'new', gatewayId: 'demo-gw', category: 'fire.smoke_alarm' });
    await platform.close();
  });

  it('explains a bad option instead of starting', async () => {
    const run = gridedge(['demo', '--upstream', 'http://nope']);
    expect(await run.code).not.toBe(0);
    expect(run.stderr()).toMatch(/'http:\/\/nope' is not a broker URL \(expected mqtt:\/\/host:port/);
  });

  it('exits 2 for a mistake in the arguments, saying what is wrong, with no raw system error', async () => {
    for (const [args, says] of [
      [['start'], "required option '-c, --config <file>' not specified"],
      [['config', 'check'], "required option '-c, --config <file>' not specified"],
      [['start', '--config', 'x.yaml', '--api-port', 'eighty'], "'eighty' is not a port"],
      [['sim', '--scenario', '/no/such/scenario.yaml', '--print-devices'], '--scenario /no/such/scenario.yaml: no such file'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ] as const) {
      const run = gridedge([...args]);
      expect(await run.code, args.join(' ')).toBe(2);
      expect(run.stderr()).toContain(says);
      expect(run.stderr()).not.toMatch(/ENOENT|at .+\.js:\d+/);
    }
  });

  it("lists the simulated camera's real scenes in its help", async () => {
    const { BUILTIN_SCENES } = await import('../../sim/camera/scenes.js');
    const run = gridedge(['sim', 'camera', '--help']);
    expect(await run.code).toBe(0);
    const help = run.stdout().replace(/\s+/g, ' ');
    for (const name of Object.keys(BUILTIN_SCENES)) expect(help).toContain(name);
  });

  it('prints help for each command', async () => {
    for (const cmd of [['--help'], ['start', '--help'], ['demo', '--help'], ['config', 'check', '--help']]) {
      const run = gridedge(cmd);
      expect(await run.code).toBe(0);
      expect(run.stdout()).toMatch(/Usage: gridedge/);
    }
  });
});

describe('gridedge start', () => {
  it('serves devices from a config file, answers /healthz, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir('start');
    const brokerPort = await freePort();
    const apiPort = await freePort();
    const file = path.join(dir, 'gridedge.yaml');
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-cli',
        '  grid: "320102003004000"',
        '  dataDir: ./state',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        'api:',
        '  host: 127.0.0.1',
        '  port: 1',
        'upstream:',
        `  url: ${mosquitto.url}`,
        'devices:',
        '  - id: smoke-9',
        '    kind: smoke-alarm',
        '    grid: "320102003004005"',
      ].join('\n'),
    );
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/320102003004000/gw-cli/#');
    const run = gridedge(['start', '--config', file, '--api-port', String(apiPort)], { GRIDEDGE_DEVICE_SECRET_SMOKE_9: 'env-secret-99' });

    const health = await waitFor(
      '/healthz',
      async () => {
        const res = await fetch(`http://127.0.0.1:${apiPort}/healthz`).catch(() => undefined);
        return res?.ok ? ((await res.json()) as { status: string; gatewayId: string }) : undefined;
      },
      15_000,
    );
    expect(health).toMatchObject({ gatewayId: 'gw-cli' });

    const alarm = new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${brokerPort}`, id: 'smoke-9', secret: 'env-secret-99' });
    await alarm.connect();
    await alarm.alarm(3);
    const incident = assertIncident(await platform.waitFor<IncidentMessage>('incident', '/incident', () => true));
    expect(incident).toMatchObject({ grid: '320102003004005', gatewayId: 'gw-cli' });
    await alarm.disconnect();

    run.kill('SIGTERM');
    expect(await run.code).toBe(0);
    await platform.waitFor<GatewayStatus>('offline status', '/status', (s) => s.state === 'offline');
    expect(run.stdout()).not.toContain('env-secret-99');
    expect(run.stdout()).toContain('"msg":"gateway started"');
    await platform.close();
  });

  it('is reported offline through its Last Will when killed without a goodbye', async () => {
    const dir = await tempDir('kill');
    const apiPort = await freePort();
    const file = path.join(dir, 'gw.yaml');
    await writeFile(
      file,
      `gateway:\n  id: gw-kill\n  grid: "110105001002000"\n  dataDir: ./d\nbroker:\n  host: 127.0.0.1\n  port: ` +
        `${await freePort()}\napi:\n  port: ${apiPort}\nupstream:\n  url: ${mosquitto.url}\n`,
    );
    const platform = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/110105001002000/gw-kill/status');
    const run = gridedge(['start', '--config', file]);
    await platform.waitFor<GatewayStatus>('online', '/status', (s) => s.state === 'online', 15_000);
    run.kill('SIGKILL');
    await run.code;
    const offline = await platform.waitFor<GatewayStatus>('offline from the Will', '/status', (s) => s.state === 'offline');
    expect(offline).toMatchObject({ gatewayId: 'gw-kill', schema: 'gridedge.status/v1' });
    await platform.close();
  });

  it('fails with exit code 2 and names the key when the config is wrong', async () => {
    const dir = await tempDir('bad');
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'gateway:\n  id: gw\n  grid: "110105001002000"\nbroker:\n  prot: 1883\n');
    for (const args of [
      ['start', '--config', file],
      ['config', 'check', '--config', file],
    ]) {
      const run = gridedge(args);
      expect(await run.code).toBe(2);
      expect(run.stderr()).toContain(`invalid config ${file}:`);
      expect(run.stderr()).toContain("broker.prot: unknown key (did you mean 'port'?)");
    }
  });

  it('says plainly when the API port is taken', async () => {
    const dir = await tempDir('port');
    const file = path.join(dir, 'gw.yaml');
    const taken = await freePort();
    const blocker = (await import('node:net')).createServer().listen(taken, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    await writeFile(
      file,
      `gateway:\n  id: gw\n  grid: "110105001002000"\n  dataDir: ./d\nbroker:\n  host: 127.0.0.1\n  port: ${await freePort()}\napi:\n ` +
        ` port: ${taken}\n`,
    );
    const run = gridedge(['start', '--config', file]);
    expect(await run.code).toBe(1);
    expect(run.stderr()).toContain(`gridedge: the API cannot listen on 127.0.0.1:${taken}`);
    blocker.close();
  });

  it('accepts the example config as shipped, naming what a deployment must still change as warnings, and starts it', async () => {
    const example = fileURLToPath(new URL('../../gridedge.example.yaml', import.meta.url));
    const check = gridedge(['config', 'check', '--config', example]);
    expect(await check.code).toBe(0);
    for (const said of [
      'devices[0].secret: the example',
      'api.tokens[0].token: the example',
      'api.publicUrl: not set',
      'upstream.commandSecret: not set',
    ])
      expect(check.stdout()).toContain(said);
    // As it is, but on free ports and a data folder of the test's own.
    const dir = await tempDir('example-start');
    const file = path.join(dir, 'gridedge.yaml');
    const text = (await readFile(example, 'utf8'))
      .replace('port: 1883', `port: ${await freePort()}`)
      .replace('port: 8080', `port: ${await freePort()}`)
      .replace('# dataDir: /var/lib/gridedge/gw-chaoyang-jsl-01', `dataDir: ${dir}/data`);
    await writeFile(file, text);
    const run = gridedge(['start', '--config', file, '--log-format', 'json']);
    await waitFor('the example gateway started', () => run.stdout().includes('"msg":"gateway started"') || undefined, 20_000);
    expect(run.stdout()).toContain('"msg":"config warning"');
    run.kill('SIGTERM');
    expect(await run.code).toBe(0);
  });

  it('accepts the documented example config', async () => {
    const run = gridedge(['config', 'check', '--config', fileURLToPath(new URL('../../gridedge.example.yaml', import.meta.url))], {
      GRIDEDGE_DEVICE_SECRET_SMOKE_0102: 'secret-from-env',
      GRIDEDGE_INFLUX_TOKEN: 'token',
    });
    expect(await run.code).toBe(0);
    expect(run.stdout()).toMatch(
      /^config OK: gateway gw-chaoyang-jsl-01, grid 110105001002000 \(北京市 朝阳区 建外街道\), 2 devices, upstream configured, series InfluxDB/,
    );
  });
});
