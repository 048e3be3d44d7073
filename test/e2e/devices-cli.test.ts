/** Provisioning on site with the `gridedge devices` commands, and a gateway that honours it. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { SimulatedGasSensor } from '../../sim/gas-sensor.js';
import { gridedge } from '../helpers/cli.js';
import { canConnect, freePort, waitFor } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';

describe('gridedge devices', () => {
  it('adds a device with a hashed secret shown once, lists it, lets it connect, and removes it', async () => {
    const dir = await tempDir('devices');
    const brokerPort = await freePort();
    const file = path.join(dir, 'gw.yaml');
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-prov',
        '  grid: "110105001002000"',
        '  dataDir: ./data',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        'api:',
        `  port: ${await freePort()}`,
        'devices:',
        '  - id: smoke-1',
        '    kind: smoke-alarm',
        '    name: Stairwell', // its secret comes from the environment
      ].join('\n'),
    );

    const add = gridedge([
      'devices',
      'add',
      '--config',
      file,
      '--id',
      'gas-9',
      '--kind',
      'gas-sensor',
      '--grid',
      '110105001002005',
      '--name',
      'Noodle shop kitchen',
      '--lat',
      '39.92',
      '--lon',
      '116.44',
      '--option',
      'valve=true',
      '--option',
      'alarmLel=20',
    ]);
    expect(await add.code).toBe(0);
    const secret = /secret for gas-9 \(shown once, only its hash is kept\): (\S+)/.exec(add.stdout())?.[1];
    expect(secret).toBeDefined();
    const stored = await readFile(path.join(dir, 'data', 'devices.json'), 'utf8');
    expect(stored).not.toContain(secret!);
    expect(JSON.parse(stored)).toMatchObject([
      {
        id: 'gas-9',
        kind: 'gas-sensor',
        grid: '110105001002005',
        options: { valve: true, alarmLel: 20 },
        secretHash: expect.stringMatching(/^scrypt\$/),
      },
    ]);

    const list = gridedge(['devices', 'list', '--config', file]);
    expect(await list.code).toBe(0);
    expect(list.stdout()).toMatch(/^ID\s+KIND\s+GRID\s+SOURCE\s+NAME$/m);
    expect(list.stdout()).toMatch(/^smoke-1\s+smoke-alarm\s+110105001002000\s+config\s+Stairwell$/m);
    expect(list.stdout()).toMatch(/^gas-9\s+gas-sensor\s+110105001002005\s+provisioned\s+Noodle shop kitchen$/m);

    for (const [args, message] of [
      [['--id', 'gas-9', '--kind', 'gas-sensor'], 'device gas-9 exists already'],
      [['--id', 'x-1', '--kind', 'toaster'], '"toaster" is not a device kind'],
      [['--id', 'x-2', '--kind', 'gas-sensor', '--option', 'valve=maybe'], '--option.valve: "maybe" is not of the right type'],
      [['--id', 'x/3', '--kind', 'smoke-alarm', '--grid', '99'], '--grid: "99" is not valid'],
    ] as Array<[string[], string]>) {
      const bad = gridedge(['devices', 'add', '--config', file, ...args]);
      expect(await bad.code).toBe(2);
      expect(bad.stderr()).toContain(message);
    }

    const run = gridedge(['start', '--config', file], { GRIDEDGE_DEVICE_SECRET_SMOKE_1: 'smoke-secret-1' });
    await waitFor('broker', () => canConnect(brokerPort).then((ok) => ok || undefined), 15_000);
    const sensor = new SimulatedGasSensor({ url: `mqtt://127.0.0.1:${brokerPort}`, id: 'gas-9', secret: secret!, valve: true });
    await sensor.connect();
    await sensor.report(1);
    await sensor.disconnect();
    const wrong = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, {
      clientId: 'gas-9',
      username: 'gas-9',
      password: 'not-the-secret',
      reconnectPeriod: 0,
    });
    const err = await new Promise<Error & { code?: number }>((resolve) => wrong.once('error', resolve));
    expect(err.code).toBe(4);
    wrong.end(true);
    run.kill('SIGTERM');
    expect(await run.code).toBe(0);

    const removeConfigOne = gridedge(['devices', 'remove', '--config', file, '--id', 'smoke-1']);
    expect(await removeConfigOne.code).toBe(2);
    expect(removeConfigOne.stderr()).toContain('is in the config file');
    const remove = gridedge(['devices', 'remove', '--config', file, '--id', 'gas-9']);
    expect(await remove.code).toBe(0);
    const after = gridedge(['devices', 'list', '--config', file, '--json']);
    expect(await after.code).toBe(0);
    expect((JSON.parse(after.stdout()) as Array<{ id: string }>).map((d) => d.id)).toEqual(['smoke-1']);
  }, 60_000);

  it('hashes a secret for devices[].secretHash, and a gateway accepts the device by it', async () => {
    const short = gridedge(['devices', 'hash-secret'], {}, 10_000, 'abc\n');
    expect(await short.code).toBe(2); // a usage mistake, like an invalid config
    expect(short.stderr()).toContain('shorter than 8 characters');
    const hashed = gridedge(['devices', 'hash-secret'], {}, 10_000, 'kitchen-secret-77\n');
    expect(await hashed.code).toBe(0);
    const hash = hashed.stdout().trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);

    const dir = await tempDir('hashed');
    const brokerPort = await freePort();
    const file = path.join(dir, 'gw.yaml');
    await writeFile(
      file,
      [
        'gateway:',
        '  id: gw-hash',
        '  grid: "110105001002000"',
        '  dataDir: ./data',
        'broker:',
        '  host: 127.0.0.1',
        `  port: ${brokerPort}`,
        'api:',
        `  port: ${await freePort()}`,
        'devices:',
        '  - id: gas-7',
        '    kind: gas-sensor',
        `    secretHash: "${hash}"`,
      ].join('\n'),
    );
    const run = gridedge(['start', '--config', file]);
    await waitFor('broker', () => canConnect(brokerPort).then((ok) => ok || undefined), 15_000);
    const sensor = new SimulatedGasSensor({ url: `mqtt://127.0.0.1:${brokerPort}`, id: 'gas-7', secret: 'kitchen-secret-77' });
    await sensor.connect();
    await sensor.report(2);
    await sensor.disconnect();
    await expect(
      new SimulatedGasSensor({ url: `mqtt://127.0.0.1:${brokerPort}`, id: 'gas-7', secret: 'kitchen-secret-78' }).connect(),
    ).rejects.toThrow(/Bad username or password/);
    run.kill('SIGTERM');
    expect(await run.code).toBe(0);
  }, 60_000);
});
