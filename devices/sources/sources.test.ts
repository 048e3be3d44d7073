/**
 * The sources' parsers on what their brokers really carry, and on anything at all: zigbee2mqtt's
 * state, availability (JSON and the legacy bare word), bridge/devices and its own topics;
 * ChirpStack v4's uplink events, with the topic and the body naming one device; and random
 * topics and payloads, which are refused or ignored, never thrown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chirpstack, type ChirpstackSettings } from './chirpstack.js';
import { zigbee2mqtt, type Zigbee2mqttSettings } from './zigbee2mqtt.js';
import { beijingTime, datastreamEvents, onenet, onenetSignature, type OnenetSettings, rawMember } from './onenet.js';
import { ctwing, ctwingAllowList, type CtwingSettings, ctwingSignature, deviceListPage, statusListEvents } from './ctwing.js';

const z: Zigbee2mqttSettings = { url: 'mqtt://x', baseTopic: 'zigbee2mqtt', maxMessageBytes: 65_536, offlineAfterSeconds: 60 };
const c: ChirpstackSettings = { url: 'mqtt://x', applicationId: '+', topicPrefix: '', maxMessageBytes: 65_536, offlineAfterSeconds: 60 };
const APP = '7f0b1d0e-3c51-4c39-9f1a-2c1b9e7a5a10';
const runs = Number(process.env.GRIDEDGE_FUZZ_RUNS ?? 500);

describe('zigbee2mqtt topics', () => {
  it('reads a state, availability both ways, and the device list; ignores the bridge and set/get', () => {
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke', Buffer.from('{"smoke":true}'), z)).toEqual({
      type: 'data',
      externalId: 'hall/smoke',
      input: { json: { smoke: true } },
    });
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke/availability', Buffer.from('{"state":"offline"}'), z)).toEqual({
      type: 'availability',
      externalId: 'hall/smoke',
      online: false,
    });
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke/availability', Buffer.from('online'), z)).toMatchObject({ online: true });
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke/availability', Buffer.from('"maybe"'), z)).toMatchObject({ type: 'refused' });
    expect(zigbee2mqtt.parse('zigbee2mqtt/bridge/state', Buffer.from('{"state":"online"}'), z)).toEqual({ type: 'ignored' });
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke/set', Buffer.from('{"state":"ON"}'), z)).toEqual({ type: 'ignored' });
    const list = [
      { ieee_address: '0x00124b0000000001', type: 'Coordinator', friendly_name: 'Coordinator' },
      {
        ieee_address: '0x00158D0001A2B3C4',
        friendly_name: 'hall/smoke',
        type: 'EndDevice',
        definition: { model: 'HS1SA', vendor: 'Heiman' },
      },
      { ieee_address: 'not-an-address', friendly_name: 'x' },
    ];
    expect(zigbee2mqtt.parse('zigbee2mqtt/bridge/devices', Buffer.from(JSON.stringify(list)), z)).toEqual({
      type: 'inventory',
      devices: [{ externalId: 'hall/smoke', aliases: ['0x00158d0001a2b3c4'], model: 'HS1SA', vendor: 'Heiman' }],
    });
    expect(zigbee2mqtt.parse('zigbee2mqtt/hall/smoke', Buffer.from('[1,2]'), z)).toMatchObject({
      type: 'refused',
      externalId: 'hall/smoke',
    });
    expect(zigbee2mqtt.parse('zigbee2mqtt/big', Buffer.alloc(70_000, 32), z)).toMatchObject({ type: 'refused' });
  });
});

describe('ChirpStack v4 uplinks', () => {
  const up = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o));
  const topic = `application/${APP}/device/24e124538b223213/event/up`;

  it('reads deviceInfo, fPort, data and time, and names the application for downlinks', () => {
    expect(
      chirpstack.parse(
        topic,
        up({ deviceInfo: { devEui: '24E124538B223213' }, fPort: 85, data: 'Ih5kABxA', time: '2026-12-02T01:00:00Z' }),
        c,
      ),
    ).toEqual({
      type: 'data',
      externalId: '24e124538b223213',
      route: APP,
      input: { bytes: Buffer.from('221e64001c40', 'hex'), fPort: 85, ts: Date.parse('2026-12-02T01:00:00Z') },
    });
    expect(chirpstack.downlink!('24e124538b223213', { fPort: 10, bytes: Buffer.from([1]) }, c, APP)).toEqual({
      topic: `application/${APP}/device/24e124538b223213/command/down`,
      payload: JSON.stringify({ devEui: '24e124538b223213', confirmed: true, fPort: 10, data: 'AQ==' }),
    });
    expect(chirpstack.downlink!('24e124538b223213', { fPort: 10, bytes: Buffer.from([1]) }, c)).toBeUndefined(); // no application known
  });

  it('refuses what it must: another device in the body, no data, not base64, a topic without a DevEUI', () => {
    expect(chirpstack.parse(topic, up({ deviceInfo: { devEui: '0000000000000001' }, data: 'AA==' }), c)).toMatchObject({
      type: 'refused',
      reason: 'deviceInfo.devEui differs from the topic',
    });
    expect(chirpstack.parse(topic, up({ fPort: 1 }), c)).toMatchObject({ type: 'refused' });
    expect(chirpstack.parse(topic, up({ data: '***' }), c)).toMatchObject({ type: 'refused', reason: 'data is not base64' });
    expect(chirpstack.parse(`application/${APP}/device/zz/event/up`, up({ data: 'AA==' }), c)).toMatchObject({ type: 'refused' });
    expect(chirpstack.parse(`application/${APP}/device/24e124538b223213/event/join`, up({}), c)).toEqual({ type: 'ignored' });
  });
});

describe('OneNET data push', () => {
  const o: OnenetSettings = { token: 'tok-123', path: '/push/onenet', maxBodyBytes: 65_536 };
  const signed = (msgText: string, token = 'tok-123', nonce = 'n0nce') =>
    Buffer.from(`{"msg":${msgText},"msg_signature":"${onenetSignature(token, nonce, msgText)}","nonce":"${nonce}"}`);

  it('checks the signature over msg as sent (its spacing too), reads a list of points and statuses', () => {
    const text =
      '[ {"type": 1, "imei": "863412045678901", "ds_id": "3200_0_5500", "at": 1795352624476, "value": 1},\n' +
      ' {"type":2,"dev_id":77,"status":0} ]';
    const r = onenet.handle({ method: 'POST', query: {}, headers: {}, body: signed(text) }, o);
    expect(r.status).toBe(200);
    expect(r.events).toEqual([
      { type: 'data', externalId: '863412045678901', input: { json: { ds_id: '3200_0_5500', value: 1 }, ts: 1795352624476 } },
      { type: 'availability', externalId: '77', online: false },
    ]);
    expect(r.keys![0]).toBe('863412045678901|3200_0_5500|1795352624476|1');
    expect(onenet.handle({ method: 'POST', query: {}, headers: {}, body: signed(text, 'other') }, o)).toMatchObject({ status: 403 });
    expect(rawMember('{"msg" : {"a": "}"} ,"nonce":"x"}', 'msg')).toBe('{"a": "}"}');
  });

  it('answers the URL check with msg, and refuses a wrong or missing signature', () => {
    const q = { msg: 'abc', nonce: 'n1', signature: onenetSignature('tok-123', 'n1', 'abc') };
    expect(onenet.handle({ method: 'GET', query: q, headers: {}, body: Buffer.alloc(0) }, o)).toMatchObject({ status: 200, body: 'abc' });
    expect(onenet.handle({ method: 'GET', query: { ...q, signature: 'x' }, headers: {}, body: Buffer.alloc(0) }, o)).toMatchObject({
      status: 403,
    });
    expect(onenet.handle({ method: 'GET', query: { msg: 'abc' }, headers: {}, body: Buffer.alloc(0) }, o)).toMatchObject({ status: 400 });
  });

  it('never throws on any body or query', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.dictionary(fc.constantFrom('msg', 'nonce', 'signature'), fc.string()),
        (body, query) => {
          for (const method of ['GET', 'POST', 'PUT'])
            expect(onenet.handle({ method, query, headers: {}, body: Buffer.from(body) }, o).status).toBeGreaterThanOrEqual(200);
          expect(typeof (rawMember(body, 'msg') ?? '')).toBe('string');
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('OneNET API answers (polling)', () => {
  it('reads update_at as Beijing time and takes each stream once per new time', () => {
    expect(new Date(beijingTime('2026-12-03 09:23:17')!).toISOString()).toBe('2026-12-03T01:23:17.000Z');
    expect(beijingTime('2026-12-03T09:23:17Z')).toBeUndefined();
    expect(beijingTime(1764725000000)).toBeUndefined();
    const seen = new Map<string, string>();
    const answer = (v: number, at: string) => ({
      errno: 0,
      error: 'succ',
      data: [
        { id: '3200_0_5500', current_value: v, update_at: at },
        { id: 'empty', update_at: at }, // no value yet: skipped
      ],
    });
    const first = datastreamEvents('863412045678911', answer(1, '2026-12-03 09:23:17'), seen);
    expect(first).toEqual([
      {
        type: 'data',
        externalId: '863412045678911',
        input: { json: { ds_id: '3200_0_5500', value: 1 }, ts: Date.parse('2026-12-03T01:23:17Z') },
      },
    ]);
    expect(datastreamEvents('863412045678911', answer(1, '2026-12-03 09:23:17'), seen)).toEqual([]);
    expect(datastreamEvents('863412045678911', answer(0, '2026-12-03 09:24:00'), seen)).toHaveLength(1);
  });

  it('refuses a malformed answer and throws on an OneNET error, naming it', () => {
    const seen = new Map<string, string>();
    expect(datastreamEvents('1', 'nope', seen)).toEqual([
      { type: 'refused', externalId: '1', reason: 'datastreams answer is not a JSON object' },
    ]);
    expect(datastreamEvents('1', { errno: 0, data: {} }, seen)[0]).toMatchObject({ type: 'refused' });
    expect(datastreamEvents('1', { errno: 0, data: [{ id: 'x', current_value: 1, update_at: 'yesterday' }] }, seen)[0]).toMatchObject({
      type: 'refused',
      reason: 'stream x: update_at is not a Beijing time',
    });
    expect(() => datastreamEvents('1', { errno: 3, error: 'auth failed' }, seen)).toThrow(/errno 3: auth failed/);
  });
});

describe('CTWing subscription push', () => {
  const c: CtwingSettings = { token: 'secret-of-the-push-url', path: '/push/ctwing', maxBodyBytes: 65_536 };
  const q = { token: 'secret-of-the-push-url' };
  const post = (body: string | object, query: Record<string, string> = q, settings = c, remoteAddress = '127.0.0.1') =>
    ctwing.handle(
      { method: 'POST', query, headers: {}, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), remoteAddress },
      settings,
    );
  // From the platform's published samples (a transparent LwM2M product, and an object model's property).
  const transparent = {
    upPacketSN: -1,
    upDataSN: -1,
    topic: 'v1/up/ad',
    timestamp: 1650554828842,
    tenantId: '2000033629',
    serviceId: '',
    protocol: 'lwm2m',
    productId: '15114816',
    payload: { APPdata: 'AQFWMS4wAAAAACMAAAAH/wAlODYyNTkyMDUxNjUxNDcyAAEAMjUAODAAAAAAAAABAQAAAAEAAASD' },
    messageType: 'dataReport',
    deviceType: '',
    deviceId: '40edca19b0124480864366de4621de99',
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: '862592051651472',
  };

  it('reads a transparent report as bytes, a property report as JSON, and online/offline; keys a retry by its bytes', () => {
    const r = post(transparent);
    expect(r.status).toBe(200);
    expect(r.events[0]).toMatchObject({ type: 'data', externalId: '862592051651472', input: { ts: 1650554828842 } });
    const input = (r.events[0] as { input: { bytes: Buffer; json: Record<string, unknown> } }).input;
    expect(input.bytes.subarray(0, 4).toString('hex')).toBe('01015631');
    expect(input.json.messageType).toBe('dataReport');
    expect(post(transparent).keys).toEqual(r.keys);
    const props = { ...transparent, IMEI: 'undefined', serviceId: 1, payload: { liquid_level: 402 } };
    expect(post(props).events[0]).toEqual({
      type: 'data',
      externalId: '40edca19b0124480864366de4621de99', // no IMEI: the platform's deviceId
      input: { json: { messageType: 'dataReport', serviceId: 1, payload: { liquid_level: 402 } }, ts: 1650554828842 },
    });
    expect(post({ ...transparent, messageType: 'deviceOnlineOfflineReport', eventType: 0 }).events[0]).toEqual({
      type: 'availability',
      externalId: '862592051651472',
      online: false,
    });
    expect(post({ ...transparent, messageType: 'commandResponse' }).events[0]).toEqual({ type: 'ignored' });
    expect(post({ ...transparent, payload: { APPdata: '%%%' } }).events[0]).toMatchObject({ type: 'refused' });
  });

  it('checks the URL token and the address before reading the body', () => {
    expect(post('not json at all', {})).toMatchObject({ status: 403 });
    expect(post('not json at all', { token: 'secret-of-the-push-urL' })).toMatchObject({ status: 403 });
    expect(post('not json at all')).toMatchObject({ status: 400 });
    const only = { ...c, allowFrom: ['10.1.0.0/16', '192.0.2.7'] };
    expect(post(transparent, q, only, '10.1.44.3').status).toBe(200);
    expect(post(transparent, q, only, '::ffff:192.0.2.7').status).toBe(200);
    expect(post(transparent, q, only, '10.2.0.1')).toMatchObject({ status: 403, refused: expect.stringContaining('allowFrom') });
    expect(post(transparent, q, { ...c, token: undefined })).toMatchObject({ status: 503 });
    expect(() => ctwingAllowList(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => ctwingAllowList(['ctwing.cn'])).toThrow(/not an IP/);
  });

  it('never throws on any body or query', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
        ),
        (body) => {
          for (const method of ['GET', 'POST'])
            expect(ctwing.handle({ method, query: q, headers: {}, body: Buffer.from(body) }, c).status).toBeGreaterThanOrEqual(200);
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('CTWing API answers (polling)', () => {
  it("signs as AEP's SDKs do: parameters and MasterKey sorted by name, the body and a newline after them", () => {
    // Vectors computed with Python's hmac over the string AEP's published Python SDK builds.
    const query = { productId: '15114816', pageNow: '1', MasterKey: 'ffd9c7a217004acc87f2df46c348e8d2' };
    expect(ctwingSignature('un2puu02Ml', 'dAaFG7DiPt8', '1515752817580', query, '')).toBe('zhnnaPU/uxVMrJEDk4wiTGGyd6I=');
    const body = '{"productId":"15114816","deviceId":"40edca19b0124480864366de4621de99"}';
    expect(ctwingSignature('un2puu02Ml', 'dAaFG7DiPt8', '1515752817580', {}, body)).toBe('AYanMGjbQtA6UrETQ4fS9DsC4iA=');
  });

  it('takes each property once per timestamp, one dataReport per instant, oldest first', () => {
    const seen = new Map<string, number>();
    // The API guide's own example (its " datasetId" key with a space included).
    const answer = {
      code: 0,
      deviceStatusList: [
        { ' datasetId': 'smoke_state', value: '1', timestamp: 1535697526464 },
        { datasetId: 'battery_value', value: '90', timestamp: 1535697526464 },
        { datasetId: 'signalStrength', value: '31', timestamp: 1535697500000 },
      ],
    };
    expect(statusListEvents('862592051651472', answer, seen)).toEqual([
      {
        type: 'data',
        externalId: '862592051651472',
        input: { json: { messageType: 'dataReport', payload: { signalStrength: '31' } }, ts: 1535697500000 },
      },
      {
        type: 'data',
        externalId: '862592051651472',
        input: { json: { messageType: 'dataReport', payload: { smoke_state: '1', battery_value: '90' } }, ts: 1535697526464 },
      },
    ]);
    expect(statusListEvents('862592051651472', answer, seen)).toEqual([]);
    expect(statusListEvents('x', { code: 0 }, seen)).toEqual([]);
    expect(statusListEvents('x', { code: 0, deviceStatusList: {} }, seen)[0]).toMatchObject({ type: 'refused' });
    expect(statusListEvents('x', { code: 0, deviceStatusList: [{ datasetId: 'a', value: 1, timestamp: 'now' }] }, seen)[0]).toMatchObject({
      type: 'refused',
      reason: expect.stringMatching(/timestamp/),
    });
    expect(() => statusListEvents('x', { code: 1, desc: 'data fetch failed.' }, seen)).toThrow(/code 1: data fetch failed/);
    expect(() => statusListEvents('x', { error_code: '401', error_desc: 'Signature not matched' }, seen)).toThrow(/Signature not matched/);
  });

  it('reads the device list: deviceId, IMEI, name, netStatus', () => {
    const page = deviceListPage({
      code: 0,
      msg: 'ok',
      result: {
        total: 3,
        list: [
          { deviceId: '40edca19b0124480864366de4621de99', deviceName: 'shop 18', imei: '862592051651472', netStatus: 1 },
          { deviceId: '1511481611', deviceName: 'no imei', netStatus: 2 },
          { deviceId: '../etc', imei: '1' },
        ],
      },
    });
    expect(page).toEqual({
      total: 3,
      devices: [
        { deviceId: '40edca19b0124480864366de4621de99', imei: '862592051651472', name: 'shop 18', online: true },
        { deviceId: '1511481611', name: 'no imei', online: false },
      ],
    });
    expect(() => deviceListPage({ code: 2001, msg: 'MasterKey error' })).toThrow(/code 2001: MasterKey error/);
    expect(() => deviceListPage({ code: 0 })).toThrow(/result.list/);
  });
});

describe('any topic, any payload', () => {
  it('is parsed, refused or ignored — never thrown', () => {
    const topics = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 30 }).map((s) => `zigbee2mqtt/${s}`),
      fc.string({ maxLength: 30 }).map((s) => `application/${APP}/device/${s}/event/up`),
    );
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    );
    fc.assert(
      fc.property(topics, payloads, (t, p) => {
        for (const r of [zigbee2mqtt.parse(t, p, z), chirpstack.parse(t, p, c)])
          expect(['data', 'availability', 'inventory', 'ignored', 'refused']).toContain(r.type);
      }),
      { numRuns: runs },
    );
  });
});

describe('any platform API answer', () => {
  it('becomes data or refused events, or a refusal said in words — never a crash', () => {
    const entry = fc.record(
      {
        datasetId: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
        value: fc.jsonValue({ maxDepth: 1 }),
        timestamp: fc.jsonValue({ maxDepth: 0 }),
      },
      { requiredKeys: [] },
    );
    const answers = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({
        code: fc.constantFrom(0, '0', 1),
        deviceStatusList: fc.oneof(fc.array(entry, { maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })),
      }),
      fc.record({
        code: fc.constantFrom(0, 2),
        result: fc.record({ total: fc.jsonValue({ maxDepth: 0 }), list: fc.array(fc.jsonValue({ maxDepth: 2 })) }),
      }),
      fc.record({ errno: fc.constantFrom(0, 3), data: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 1 })) }),
    );
    const readers: Array<(a: unknown) => unknown> = [
      (a) => statusListEvents('862592051651472', a, new Map()),
      (a) => deviceListPage(a),
      (a) => datastreamEvents('862592051651472', a, new Map()),
    ];
    fc.assert(
      fc.property(answers, (a) => {
        for (const read of readers) {
          try {
            const out = read(a);
            if (Array.isArray(out)) for (const ev of out) expect(['data', 'refused']).toContain((ev as { type: string }).type);
          } catch (err) {
            // A refusal the poller counts and logs: an Error of ours with words, not a TypeError from bad input.
            expect(err).not.toBeInstanceOf(TypeError);
            expect((err as Error).message.length).toBeGreaterThan(5);
          }
        }
      }),
      { numRuns: runs },
    );
  });
});
