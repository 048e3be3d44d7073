import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, deviceSecretEnv, loadConfig, resolveConfig } from './load.js';
import { kindNames } from '../../devices/registry.js';
import { parseGridCode } from '../../contracts/grid.js';
import { defaultDataDir } from './warnings.js';

const base = () => ({
  gateway: { id: 'gw-1', grid: '110105001002000' },
  devices: [{ id: 'smoke-01', kind: 'smoke-alarm', secret: 'secret-0001' }],
});

function problems(input: unknown, env: Record<string, string> = {}): string[] {
  try {
    resolveConfig(input, 'test.yaml', '/tmp', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config loader', () => {
  it('checks the device MQTTS listener: files exist, a CA when client certificates are required, its own port', () => {
    expect(
      problems({ ...base(), broker: { port: 1883, tls: { port: 1883, cert: 'nope.crt', key: 'nope.key', requireClientCert: true } } }),
    ).toEqual([
      'broker.tls.cert: file "/tmp/nope.crt" does not exist',
      'broker.tls.key: file "/tmp/nope.key" does not exist',
      'broker.tls.requireClientCert: give broker.tls.ca, the CA that signs device certificates',
      'broker.tls.port: 1883 is also broker.port',
    ]);
  });

  it('checks the detectors of each camera: labels, zones, hours, the time zone', () => {
    const cam = (detect: unknown) => ({ ...base(), cameras: [{ id: 'cam-1', rtsp: 'rtsp://127.0.0.1/s', detect }] });
    expect(
      problems(
        cam({
          object: {},
          zones: [
            {
              name: 'yard',
              mode: 'restricted',
              hours: '22:00-06:00',
              polygon: [
                [0, 0],
                [1, 0],
                [1, 1],
              ],
            },
          ],
        }),
      ),
    ).toEqual([]);
    expect(problems(cam({ object: { labels: ['person', 'tank'] } }))).toEqual([
      'cameras[0].detect.object.labels: "tank" is not a COCO label (person, bicycle, car, motorcycle, bus, truck, …)',
    ]);
    expect(problems(cam({ zones: [] }))).toEqual([
      'cameras[0].detect: name at least one detector (face, plate, object, fire, yolo), e.g. object: {}',
    ]);
    expect(
      problems(
        cam({
          fire: {},
          zones: [
            {
              name: 'a',
              mode: 'exclude',
              hours: '22:00-06:00',
              polygon: [
                [0, 0],
                [1, 0],
                [1, 1],
              ],
            },
            {
              name: 'a',
              mode: 'include',
              polygon: [
                [0, 0],
                [1, 0],
                [1, 1],
              ],
            },
          ],
        }),
      ),
    ).toEqual([
      'cameras[0].detect.zones[0].hours: only restricted, loitering and no_parking zones have hours',
      'cameras[0].detect.zones[1].name: "a" is used twice',
    ]);
    expect(problems(cam({ face: { minScore: 2 } })).join('\n')).toMatch(
      /cameras\/0\/detect\/face\/minScore|cameras\[0\]\.detect\.face\.minScore/,
    );
    expect(
      problems(
        cam({
          face: {},
          zones: [
            {
              name: 'z',
              mode: 'include',
              polygon: [
                [0, 0],
                [1.5, 0],
                [1, 1],
              ],
            },
          ],
        }),
      ).join('\n'),
    ).toMatch(/polygon/);
    expect(resolveConfig(base(), 't', '/tmp', {}).vision.liveVideoDetect).toEqual({ object: {}, fire: {} });
    expect(problems({ ...base(), vision: { liveVideoDetect: false } })).toEqual([]);
    expect(problems({ ...base(), vision: { liveVideoDetect: { face: {}, minSize: 24 } } })).toEqual([]);
    expect(problems({ ...base(), vision: { liveVideoDetect: { helmet: {} } } })).not.toEqual([]);
    expect(problems({ ...cam({ face: {} }), vision: { timezone: 'Mars/Olympus' } })).toEqual([
      'vision.timezone: "Mars/Olympus" is not an IANA time zone (e.g. Asia/Shanghai)',
    ]);
  });

  it('loads the documented example config, filling defaults and taking secrets from the environment', async () => {
    const config = await loadConfig(new URL('../../gridedge.example.yaml', import.meta.url).pathname, {
      GRIDEDGE_DEVICE_SECRET_SMOKE_0102: 'from-env-0102',
      GRIDEDGE_INFLUX_TOKEN: 'tok',
    });
    expect(config.gateway.id).toBe('gw-chaoyang-jsl-01');
    expect(config.devices.map((d) => d.id)).toEqual(['smoke-0101', 'smoke-0102']);
    expect(config.devices[1]!.secret).toBe('from-env-0102');
    expect(config.influx?.token).toBe('tok');
    expect(config.influx?.batchSize).toBe(5000);
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it("loads the example's commented camera section once uncommented (the docs stay true)", async () => {
    const text = await readFile(new URL('../../gridedge.example.yaml', import.meta.url), 'utf8');
    const at = text.indexOf('# Cameras and the detectors');
    const uncommented =
      text.slice(0, at) +
      text
        .slice(at)
        .split('\n')
        .slice(1)
        .map((l) => (l.startsWith('# ') ? l.slice(2) : l))
        .join('\n');
    const dir = await tempDir('example');
    await writeFile(path.join(dir, 'gridedge.yaml'), uncommented);
    const config = await loadConfig(path.join(dir, 'gridedge.yaml'), {
      GRIDEDGE_DEVICE_SECRET_SMOKE_0102: 'from-env-0102',
      GRIDEDGE_INFLUX_TOKEN: 'tok',
      GRIDEDGE_GB28181_CASCADE_PASSWORD_11000000002000000001: 'city-pass',
    });
    expect(config.cameras[0]).toMatchObject({ id: 'cam-north-gate', detect: { plate: {}, fire: {}, minSize: 16 } });
    expect(config.gb28181?.devices[0]).toMatchObject({ id: '11010500011180000001', name: '东门 NVR' });
  });

  it("refuses a device's camera that the gateway does not have, and takes GB/T 28181 channel ids", () => {
    const withCameras = (cameras: string[]) => ({
      ...base(),
      devices: [{ id: 'smoke-01', kind: 'smoke-alarm', secret: 'secret-0001', cameras }],
      cameras: [{ id: 'cam-1', rtsp: 'rtsp://127.0.0.1/s' }],
    });
    expect(problems(withCameras(['cam-1', 'cam-9']))).toEqual([
      'devices[0].cameras[1]: "cam-9" is not a camera of this gateway (cameras: cam-1)',
    ]);
    expect(problems(withCameras(['cam-1', '11010500011310000001']))).toEqual([]);
  });

  it('fills defaults for omitted sections', () => {
    const config = resolveConfig(base(), 't', '/srv/gw', {});
    expect(config.broker).toEqual({
      host: '0.0.0.0',
      port: 1883,
      maxPacketBytes: 4 * 1024 * 1024,
      maxConnections: 20_000,
      connectTimeoutMs: 10_000,
      maxPublishPerSecond: 50,
      publishBurst: 200,
      maxInflight: 100,
      maxQueued: 100,
      maxKeepaliveSeconds: 0,
      statsIntervalSeconds: 10,
      accounts: [],
    });
    expect(config.api).toEqual({ host: '127.0.0.1', port: 8080, tokens: [] });
    // Not beside the config (a config in /etc would put data under /etc): the system's state folder.
    expect(config.dataDir).toBe(defaultDataDir('gw-1'));
    expect(config.dataDir).toMatch(/^\/var\/lib\/gridedge\/gw-1$|\/gridedge\/gw-1$/);
    expect(config.warnings).toContain(`gateway.dataDir: not set; the outbox, evidence and spool go to ${defaultDataDir('gw-1')}`);
    // A relative one is the config file's folder's.
    expect(resolveConfig({ ...base(), gateway: { ...base().gateway, dataDir: './data' } }, 't', '/srv/gw', {}).dataDir).toBe(
      '/srv/gw/data',
    );
    expect(config.devices[0]!.grid).toBe('110105001002000');
  });

  it('names an unknown key and suggests the right one', () => {
    expect(problems({ ...base(), brokr: { port: 1 } })).toEqual(["brokr: unknown key (did you mean 'broker'?)"]);
  });

  it('names the key path, the value and what was expected for a wrong type', () => {
    const [p] = problems({ ...base(), broker: { port: 'abc' } });
    expect(p).toMatch(/^broker\.port: "abc" is not of the right type \(expected TCP port 0\.\.65535/);
  });

  it('refuses a grid code that is not 15 digits, saying what a grid code is', () => {
    const [p] = problems({ ...base(), gateway: { id: 'gw', grid: '1101050010' } });
    expect(p).toContain('gateway.grid: "1101050010" is not valid (expected 15-digit grid code');
  });

  it('refuses a grid code whose province prefix does not exist', () => {
    const [p] = problems({ ...base(), gateway: { id: 'gw', grid: '990105001002000' } });
    expect(p).toBe('gateway.grid: "990105001002000" is not valid (its first two digits (99) are not a GB/T 2260 province code)');
  });

  it('lists the known kinds for an unknown device kind, with the array index', () => {
    const input = base();
    input.devices.push({ id: 'x', kind: 'toaster', secret: 'secret-0002' });
    expect(problems(input)).toEqual([`devices[1].kind: "toaster" is not allowed (expected one of: ${kindNames().join(', ')})`]);
    expect(kindNames()).toContain('smoke-alarm');
  });

  it('refuses duplicate device ids and ids that could widen a topic', () => {
    const input = base();
    input.devices.push({ id: 'smoke-01', kind: 'smoke-alarm', secret: 'secret-0002' });
    expect(problems(input)).toEqual(['devices[1].id: "smoke-01" is already used by devices[0]']);
    const [p] = problems({ ...base(), devices: [{ id: 'a/#', kind: 'smoke-alarm', secret: 'secret-0003' }] });
    expect(p).toMatch(/^devices\[0\]\.id: "a\/#" is not valid/);
  });

  it('says which environment variable can supply a missing secret, and lets it override the file', () => {
    const input = { ...base(), devices: [{ id: 'smoke-02.b', kind: 'smoke-alarm' }] };
    expect(problems(input)).toEqual([
      'devices[0].secret: missing (set it or secretHash in the file, or GRIDEDGE_DEVICE_SECRET_SMOKE_02_B)',
    ]);
    expect(deviceSecretEnv('smoke-02.b')).toBe('GRIDEDGE_DEVICE_SECRET_SMOKE_02_B');
    const c = resolveConfig(base(), 't', '/tmp', { GRIDEDGE_DEVICE_SECRET_SMOKE_01: 'overridden-secret' });
    expect(c.devices[0]!.secret).toBe('overridden-secret');
  });

  it('checks where evidence is pushed: the sink needs its section, S3 its key (from the file or the environment)', () => {
    const push = (p: unknown, extra: Record<string, unknown> = {}) => ({ ...base(), ...extra, evidence: { push: p } });
    expect(problems(push({ sink: 'mqtt' }))).toEqual(['evidence.push.sink: mqtt needs the upstream section (the broker it pushes to)']);
    expect(problems(push({ sink: 'http' }))).toEqual(['evidence.push.sink: http needs evidence.push.http (url, method, token)']);
    expect(problems(push({ sink: 's3' }))).toEqual(['evidence.push.sink: s3 needs evidence.push.s3 (endpoint, bucket, keys)']);
    const s3 = { sink: 's3', s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'evidence', accessKeyId: 'AK' } };
    expect(problems(push(s3))).toEqual(['evidence.push.s3.secretAccessKey: missing (set it, or GRIDEDGE_S3_SECRET)']);
    expect(problems(push(s3), { GRIDEDGE_S3_SECRET: 'from-the-env' })).toEqual([]);
    expect(resolveConfig(push(s3), 'test.yaml', '/tmp', { GRIDEDGE_S3_SECRET: 'k' }).evidence.push.s3?.secretAccessKey).toBe('k');
    expect(problems(push({ sink: 'ftp' }))[0]).toMatch(/^evidence\.push\.sink: /);
    expect(problems(push({ http: { url: 'ftp://x' }, sink: 'http' }))[0]).toMatch(/^evidence\.push\.http\.url: /);
    expect(problems({ ...base(), evidence: { privacy: { allow: ['faces'] } } })[0]).toBe(
      'evidence.privacy.allow[0]: "faces" is not allowed (expected one of: face, plate)',
    );
    const d = resolveConfig(base(), 'test.yaml', '/tmp', {});
    expect(d.evidence.push).toMatchObject({ sink: 'auto', chunkBytes: 65536, keyPrefix: 'gridedge/' });
    expect(d.evidence.privacy.allow).toEqual([]);
    expect(d.captures).toMatchObject({ upstream: true, maxPerMinute: 120, dedupeSeconds: 10 });
  });

  it("checks a device that comes through a source: its model's source and kind, the source section, the id, no secret", () => {
    const dev = (d: Record<string, unknown>, sources: Record<string, unknown> = { chirpstack: { url: 'mqtt://127.0.0.1:1883' } }) => ({
      gateway: base().gateway,
      sources,
      devices: [{ id: 'l-1', kind: 'smoke-alarm', ...d }],
    });
    expect(problems(dev({ source: { type: 'chirpstack', id: '24e124538b223213', model: 'milesight-gs524n' } }))).toEqual([]);
    expect(problems(dev({ source: { type: 'chirpstack', id: '24e124538b223213', model: 'heiman-hs1sa' } }))).toEqual([
      'devices[0].source.model: heiman-hs1sa comes through zigbee2mqtt, not chirpstack',
    ]);
    expect(
      problems(dev({ kind: 'gas-sensor', source: { type: 'chirpstack', id: '24e124538b223213', model: 'milesight-gs524n' } })),
    ).toEqual(['devices[0].kind: milesight-gs524n is a smoke-alarm, not a gas-sensor']);
    expect(problems(dev({ source: { type: 'chirpstack', id: 'boiler', model: 'milesight-gs524n' } }))).toEqual([
      'devices[0].source.id: "boiler" is not a DevEUI (16 hex digits)',
    ]);
    expect(problems(dev({ source: { type: 'chirpstack', id: '24e124538b223213', model: 'milesight-gs524n' } }, {}))).toEqual([
      'devices[0].source.type: there is no sources.chirpstack section',
    ]);
    expect(
      problems(dev({ secret: 'a-secret-1', source: { type: 'chirpstack', id: '24e124538b223213', model: 'milesight-gs524n' } })),
    ).toEqual(['devices[0].secret: a device through a source has no secret (it never connects itself)']);
    expect(problems(dev({ source: { type: 'chirpstack', id: '24e124538b223213', model: 'nope' } }))[0]).toMatch(
      /^devices\[0\]\.source\.model: /,
    );
    const modbus = { modbus: { controllers: [{ id: 'kitchen', host: '127.0.0.1' }] } };
    const gas = (id: string) => ({ kind: 'gas-sensor', source: { type: 'modbus', id, model: 'gas-controller-8ch' } });
    expect(problems(dev(gas('kitchen/3'), modbus))).toEqual([]);
    expect(problems(dev(gas('kitchen'), modbus))).toEqual([
      'devices[0].source.id: "kitchen" is not <controller>/<channel> (kitchen-panel/3)',
    ]);
    expect(problems(dev(gas('bar/1'), modbus))).toEqual(['devices[0].source.id: no controller "bar" in sources.modbus.controllers']);
    expect(problems(dev(gas('kitchen/9'), modbus))).toEqual(['devices[0].source.id: gas-controller-8ch has channels 1..8, not 9']);
    expect(resolveConfig(dev(gas('kitchen/1'), modbus), 't', '/tmp', {}).sources.modbus?.controllers[0]).toMatchObject({
      port: 502,
      unitId: 1,
      pollSeconds: 5,
    });
    const env = { GRIDEDGE_SOURCE_PASSWORD_CHIRPSTACK: 'from-env' };
    const cfg = resolveConfig(dev({ source: { type: 'chirpstack', id: '24e124538b223213', model: 'milesight-gs524n' } }), 't', '/tmp', env);
    expect(cfg.sources.chirpstack).toMatchObject({ password: 'from-env', applicationId: '+', offlineAfterSeconds: 60 });
  });

  it('checks CTWing polling: the App Secret (file or environment), a product id, an IMEI polled without the MasterKey', () => {
    const ct = (poll: Record<string, unknown>, id = '1da54369fec54dfebce4accc69e9f338') => ({
      gateway: base().gateway,
      sources: { ctwing: { poll: { appKey: 'dAaFG7DiPt8', productId: '15114816', ...poll } } },
      devices: [{ id: 'nb-1', kind: 'smoke-alarm', source: { type: 'ctwing', id, model: 'ctwing-smoke' } }],
    });
    expect(problems(ct({}))).toEqual([
      "sources.ctwing.poll.appSecret: missing (the application's App Secret, or GRIDEDGE_SOURCE_APPSECRET_CTWING)",
    ]);
    // Polling alone needs no push token.
    expect(problems(ct({}), { GRIDEDGE_SOURCE_APPSECRET_CTWING: 'from-env-secret' })).toEqual([]);
    expect(problems(ct({ appSecret: 'app-secret', productId: 'shop' }))[0]).toMatch(/^sources\.ctwing\.poll\.productId: /);
    const env = { GRIDEDGE_SOURCE_MASTERKEY_CTWING: 'ffd9c7a217004acc87f2df46c348e8d2' };
    const c = resolveConfig(ct({ appSecret: 'app-secret' }, '862592051651472'), 't', '/tmp', {});
    expect(c.warnings).toContain(
      'devices[0].source.id: 862592051651472 is an IMEI: CTWing is polled by deviceId (give it, or poll.masterKey)',
    );
    const m = resolveConfig(ct({ appSecret: 'app-secret' }, '862592051651472'), 't', '/tmp', env);
    expect(m.warnings.filter((w) => w.includes('IMEI'))).toEqual([]);
    expect(m.sources.ctwing?.poll).toMatchObject({
      url: 'https://ag-api.ctwing.cn',
      everySeconds: 60,
      masterKey: env.GRIDEDGE_SOURCE_MASTERKEY_CTWING,
    });
  });

  it('checks the 视图库 client: a 20-digit DeviceID, its password from the file or GRIDEDGE_VIID_PASSWORD', () => {
    const cfg = (viid: Record<string, unknown>) => ({ ...base(), captures: { viid: { url: 'http://10.1.2.3:8080', ...viid } } });
    expect(problems(cfg({ deviceId: '11010500002000000001' }))).toEqual([
      "captures.viid.password: missing (the 视图库's Digest password for this gateway's DeviceID, or GRIDEDGE_VIID_PASSWORD)",
    ]);
    expect(problems(cfg({ deviceId: 'gw-1', password: 'p' }))[0]).toMatch(/^captures\.viid\.deviceId: /);
    const c = resolveConfig(cfg({ deviceId: '11010500002000000001' }), 't', '/tmp', { GRIDEDGE_VIID_PASSWORD: 'from-env' });
    expect(c.captures.viid).toMatchObject({ password: 'from-env', keepaliveSeconds: 30, subjects: ['face', 'plate'] });
  });

  it('checks a GA/T 1400 subscription names a lower system the gateway knows', () => {
    const sub = {
      system: '11010500005030000100',
      url: 'http://10.0.0.9:8080',
      password: 'p',
      receiveAddr: 'http://10.0.0.2:8080/VIID/SubscribeNotifications',
    };
    const cfg = (devices: unknown[]) => ({ ...base(), kinds: { 'capture-camera': { subscribe: [sub] } }, devices });
    expect(problems(cfg([]))).toEqual([
      'kinds.capture-camera.subscribe[0].system: no capture-camera device "11010500005030000100" (the lower system signs in as one)',
    ]);
    expect(problems(cfg([{ id: '11010500005030000100', kind: 'capture-camera', secret: 'lower-secret-1' }]))).toEqual([]);
    expect(
      problems({ ...cfg([]), kinds: { 'capture-camera': { subscribe: [{ ...sub, receiveAddr: 'http://10.0.0.2/elsewhere' }] } } })[0],
    ).toMatch(/receiveAddr/);
  });

  it('takes the upstream password from the environment', () => {
    const c = resolveConfig({ ...base(), upstream: { url: 'mqtt://h:1883', username: 'u', password: 'in-file' } }, 't', '/tmp', {
      GRIDEDGE_UPSTREAM_PASSWORD: 'from-env',
    });
    expect(c.upstream?.password).toBe('from-env');
  });

  it("checks an HA pair's settings: a redis URL, a node name, a lease; the URL may come from the environment", () => {
    const c = resolveConfig({ ...base(), cluster: { redis: 'redis://10.0.0.5:6379/2', node: 'a' } }, 't', '/tmp', {
      GRIDEDGE_CLUSTER_REDIS: 'redis://:pw@10.0.0.5:6379/3',
    });
    expect(c.cluster).toEqual({ redis: 'redis://:pw@10.0.0.5:6379/3', node: 'a', leaseSeconds: 3, heartbeatSeconds: 10 });
    expect(problems({ ...base(), cluster: { redis: 'http://10.0.0.5', node: 'a b', leaseSeconds: 0 } }).join('\n')).toMatch(
      /cluster\.redis[\s\S]*cluster\.node[\s\S]*cluster\.leaseSeconds/,
    );
    expect(problems({ ...base(), cluster: { redis: 'redis://h:6379' } })).toEqual([expect.stringMatching(/cluster\.node: missing/)]);
  });

  it('reports every problem at once', () => {
    const list = problems({ gateway: { id: '', grid: 5 }, broker: { port: 70000 }, devices: 'none' });
    expect(list.length).toBeGreaterThanOrEqual(4);
    expect(list.join('\n')).toMatch(/gateway\.id/);
    expect(list.join('\n')).toMatch(/gateway\.grid/);
    expect(list.join('\n')).toMatch(/broker\.port: 70000 is out of range/);
    expect(list.join('\n')).toMatch(/devices: "none"/);
  });

  it('refuses a malformed upstream URL', () => {
    const [p] = problems({ ...base(), upstream: { url: 'http://platform' } });
    expect(p).toMatch(/^upstream\.url: "http:\/\/platform" is not valid \(expected broker URL/);
  });

  it("validates device options against the kind's schema, and categories against the known ones", () => {
    const list = problems({
      ...base(),
      devices: [
        { id: 'g1', kind: 'gas-sensor', secret: 'secret-0001', options: { valve: 'yes' } },
        { id: 's1', kind: 'smoke-alarm', secret: 'secret-0002', options: { x: 1 } },
      ],
      incidents: { categories: { 'fire.made_up': { severity: 'minor' } } },
    });
    expect(list).toEqual([
      'devices[0].options.valve: "yes" is not of the right type (expected true when the device drives a shut-off valve the gateway ' +
        'may close)',
      'devices[1].options: kind smoke-alarm takes no options',
      `incidents.categories.fire.made_up: no such category (known: ${list[2]!.split('(known: ')[1]}`,
    ]);
    expect(list[2]).toContain('fire.smoke_alarm');
    const ok = resolveConfig({ ...base(), devices: [{ id: 'g1', kind: 'gas-sensor', secret: 'secret-0001' }] }, 't', '/tmp', {});
    expect(ok.devices[0]!.options).toEqual({ valve: false });
    expect(ok.devices[0]!.heartbeatSeconds).toBe(60);
  });

  it('reports YAML syntax errors and unreadable files as config errors naming the file', async () => {
    const dir = await tempDir('config');
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'gateway:\n  id: [unclosed\n');
    await expect(loadConfig(file, {})).rejects.toThrow(/invalid config .*bad\.yaml:\n {2}- YAML:/);
    await expect(loadConfig(path.join(dir, 'missing.yaml'), {})).rejects.toThrow(/cannot read the file/);
  });
});

describe('grid codes', () => {
  it('splits a code into its levels', () => {
    expect(parseGridCode('110105001002003')).toEqual({ division: '110105', street: '001', community: '002', cell: '003' });
    expect(() => parseGridCode('11010500100200')).toThrow(/exactly 15 digits/);
  });

  it('never shows a secret value in a problem, whatever is wrong with it', async () => {
    const secrets = ['Sh0rt', 'tok-Sh0rt', 'cmd-too-Sh0rt', 'Zq9'];
    const found = problems({
      ...base(),
      devices: [{ id: 'smoke-01', kind: 'smoke-alarm', secret: 'Sh0rt' }],
      upstream: { url: 'mqtt://127.0.0.1:1883', password: 4242424, commandSecret: 'cmd-too-Sh0rt' },
      api: { tokens: [{ name: 'ops', token: 'tok-Sh0rt', role: 'operator' }], linkSecret: ['Zq9'] },
      broker: { accounts: [{ username: 'screen', password: 'Zq9', acl: [] }] },
    });
    expect(found.length).toBeGreaterThanOrEqual(5);
    for (const line of found) for (const s of [...secrets, '4242424']) expect(line).not.toContain(s);
    expect(found.join('\n')).toContain('devices[0].secret: *** (a secret, not shown) is not valid');
    // A YAML error quotes the line it is on.
    const dir = await tempDir('secret-yaml');
    const file = path.join(dir, 'gw.yaml');
    await writeFile(
      file,
      'gateway:\n  id: gw\n  grid: "110105001002000"\nupstream:\n  url: mqtt://h:1883\n  password: "hunter2-the-secret\n',
    );
    const err = (await loadConfig(file, {}).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).not.toContain('hunter2');
  });

  it('reports every problem at once: a schema error does not hide a duplicate id or a bad division', () => {
    const found = problems({
      ...base(),
      devices: [
        { id: 'smoke-01', kind: 'smoke-alarm', secret: 'secret-0001', location: { lat: 123, lon: 116.4 } },
        { id: 'smoke-01', kind: 'smoke-alarm', secret: 'secret-0002', grid: '110199001002001' },
      ],
    });
    expect(found).toEqual([
      expect.stringMatching(/^devices\[0\]\.location\.lat: 123 is out of range/),
      'devices[1].id: "smoke-01" is already used by devices[0]',
      expect.stringMatching(/^devices\[1\]\.grid: "110199001002001" is not valid \(its first six digits \(110199\) are not a GB\/T 2260 /),
    ]);
  });

  it('checks grid divisions against GB/T 2260, and warns of a device in another division than the gateway', () => {
    expect(problems({ ...base(), gateway: { id: 'gw-1', grid: '110100001002000' } })).toEqual([
      expect.stringMatching(/^gateway\.grid: "110100001002000" is not valid \(its first six digits \(110100\) are not a GB\/T 2260/),
    ]);
    const c = resolveConfig(
      { ...base(), devices: [{ id: 'smoke-tj', kind: 'smoke-alarm', secret: 'secret-0001', grid: '120101001002001' }] },
      't',
      '/tmp',
      {},
    );
    expect(c.warnings).toContain(
      'devices[0].grid: "120101001002001" lies in 天津市 和平区 劝业场街道, not in the gateway\'s 北京市 朝阳区 建外街道: ' +
        'a gateway serves one community; check the code',
    );
  });
});
