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
import { onenet, onenetSignature, type OnenetSettings, rawMember } from './onenet.js';

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
