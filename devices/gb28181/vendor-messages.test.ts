/**
 * Messages shaped as devices in the field send them, over a raw UDP socket (not our SIP stack on
 * the device side): a REGISTER with its headers in alphabetical order, the server and the device
 * named by IP:port instead of the domain, a Route header and a vendor User-Agent, as in the
 * REGISTER example published with the open-source gb28181 Java stack (lunasaw/gb28181-proxy,
 * "REGISTER 客户端注册"); a Keepalive in GBK with Chinese in it; a Catalog answer in GB2312 whose
 * statuses say OK and OFF (vendors write OK as often as the standard's ON) with an Info block
 * (PTZType, A.2.4.3); an Alarm whose AlarmType sits inside Info (A.2.5.3) with an EventType.
 */
import dgram from 'node:dgram';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { digestAuthorization } from '../../core/http-digest.js';
import { createLogger } from '../../core/log.js';
import { toLocal } from '../../core/time.js';
import { GATEWAY_SIP_ID, gbSettings, NVR_ID } from '../../test/helpers/gb28181.js';
import { waitFor } from '../../test/helpers/servers.js';
import type { GbAlarm } from './alarm.js';
import { Gb28181Service } from './service.js';

const PASSWORD = 'field-nvr-pass-1';
let gb: Gb28181Service;
let port: number;
let sock: dgram.Socket;
let local: number;
const inbox: string[] = [];
const alarms: GbAlarm[] = [];

function send(text: string | Buffer): Promise<void> {
  const data = typeof text === 'string' ? Buffer.from(text.replace(/\n/g, '\r\n')) : text;
  return new Promise((resolve, reject) => sock.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

/** The next message from the gateway that matches, after `from`. */
async function next(match: RegExp, from = 0): Promise<string> {
  return waitFor(`a message matching ${match}`, () => inbox.slice(from).find((m) => match.test(m)), 5000);
}

const header = (msg: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(msg)?.[1]?.trim() ?? '';

/** A MESSAGE from the device with a body in `charset`. */
function message(cseq: number, body: string, charset: string): Buffer {
  const bytes = iconv.encode(body.replace(/\n/g, '\r\n'), charset);
  const head =
    `MESSAGE sip:${GATEWAY_SIP_ID}@127.0.0.1:${port} SIP/2.0\r\n` +
    `Call-ID: msg-${cseq}-5c1e\r\n` +
    `CSeq: ${cseq} MESSAGE\r\n` +
    'Content-Type: Application/MANSCDP+xml\r\n' +
    `From: <sip:${NVR_ID}@127.0.0.1:${local}>;tag=d28d156d2c72dcfb6a49ceb55f9627e8\r\n` +
    'Max-Forwards: 70\r\n' +
    `To: <sip:${GATEWAY_SIP_ID}@127.0.0.1:${port}>\r\n` +
    'User-Agent: SIP UAS V3.0.0.1208500\r\n' +
    `Via: SIP/2.0/UDP 127.0.0.1:${local};rport;branch=z9hG4bK-msg-${cseq}\r\n` +
    `Content-Length: ${bytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), bytes]);
}

function register(cseq: number, authorization?: string): string {
  return [
    `REGISTER sip:${GATEWAY_SIP_ID}@127.0.0.1:${port} SIP/2.0`,
    'Call-ID: b954e1e87c6d580eaec2c2755aba3e54',
    `Contact: <sip:${NVR_ID}@127.0.0.1:${local}>`,
    'Content-Length: 0',
    `CSeq: ${cseq} REGISTER`,
    'Expires: 3600',
    `From: <sip:${NVR_ID}@127.0.0.1:${local}>;tag=d28d156d2c72dcfb6a49ceb55f9627e8`,
    'Max-Forwards: 70',
    `Route: <sip:${NVR_ID}@127.0.0.1:${port};lr>`,
    `To: <sip:${NVR_ID}@127.0.0.1:${local}>`,
    'User-Agent: SIP UAS V3.0.0.1208500',
    `Via: SIP/2.0/UDP 127.0.0.1:${local};rport;branch=z9hG4bK9ffcac0c7c50cdbc${cseq}`,
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    '',
    '',
  ].join('\n');
}

beforeAll(async () => {
  gb = new Gb28181Service(
    gbSettings({
      devices: [{ id: NVR_ID, grid: '110105001002001', password: PASSWORD, guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters: new Counters(), log: createLogger('silent') },
  );
  gb.on('alarm', (a) => alarms.push(a));
  port = await gb.start();
  sock = dgram.createSocket('udp4');
  sock.on('message', (m) => inbox.push(m.toString('latin1')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  local = sock.address().port;
});

afterAll(async () => {
  sock?.close();
  await gb?.stop();
});

describe('GB/T 28181 messages as devices in the field write them', () => {
  it('registers a device that names the server by IP:port, routes, and lists its headers alphabetically', async () => {
    await send(register(1));
    const challenge = await next(/^SIP\/2\.0 401 /);
    const auth = digestAuthorization(
      header(challenge, 'WWW-Authenticate'),
      NVR_ID,
      PASSWORD,
      'REGISTER',
      `sip:${GATEWAY_SIP_ID}@127.0.0.1:${port}`,
    );
    const mark = inbox.length;
    await send(register(2, auth));
    const ok = await next(/^SIP\/2\.0 200 /, mark);
    expect(header(ok, 'CSeq')).toBe('2 REGISTER');
    expect(header(ok, 'Date')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    expect(gb.view(NVR_ID)).toMatchObject({ registered: true, registration: { userAgent: 'SIP UAS V3.0.0.1208500' } });
  });

  it('answers a Keepalive written in GBK with Chinese in it', async () => {
    const mark = inbox.length;
    const body = `<?xml version="1.0" encoding="GBK"?>
<Notify>
<CmdType>Keepalive</CmdType>
<SN>43</SN>
<DeviceID>${NVR_ID}</DeviceID>
<Status>OK</Status>
<Info>
<DeviceID>${NVR_ID}</DeviceID>
<Remark>东门 录像机 正常</Remark>
</Info>
</Notify>
`;
    await send(message(3, body, 'gbk'));
    expect(await next(/^SIP\/2\.0 \d{3} [\s\S]*CSeq: 3 MESSAGE/, mark)).toMatch(/^SIP\/2\.0 200 /);
    await waitFor('the keepalive seen', () => gb.view(NVR_ID)?.lastKeepaliveAt);
  });

  it('reads a GB2312 Catalog answer with OK and OFF statuses and an Info block', async () => {
    const queryMark = inbox.length;
    const query = gb.queryCatalog(NVR_ID);
    // Its own query, not the one the gateway sent when the device registered.
    const q = await next(/^MESSAGE sip:[\s\S]*<CmdType>Catalog<\/CmdType>/, queryMark);
    expect(q).toMatch(/<CmdType>Catalog<\/CmdType>/);
    const sn = /<SN>(\d+)<\/SN>/.exec(q)![1];
    // The 200 to its query, as the device answers it.
    await send(
      `SIP/2.0 200 OK\nVia: ${header(q, 'Via')}\nFrom: ${header(q, 'From')}\nTo: ${header(q, 'To')};tag=dev1\n` +
        `Call-ID: ${header(q, 'Call-ID')}\nCSeq: ${header(q, 'CSeq')}\nContent-Length: 0\n\n`,
    );
    const items = ['11010500011310000001', '11010500011310000002'].map(
      (id, i) => `<Item>
<DeviceID>${id}</DeviceID>
<Name>${i ? '地下车库 B1' : '东门入口'}</Name>
<Manufacturer>Hikvision</Manufacturer>
<Model>DS-2CD3T46WDV3-I3</Model>
<Owner>Owner</Owner>
<CivilCode>110105</CivilCode>
<Address>Address</Address>
<Parental>0</Parental>
<ParentID>${NVR_ID}</ParentID>
<SafetyWay>0</SafetyWay>
<RegisterWay>1</RegisterWay>
<Secrecy>0</Secrecy>
<Status>${i ? 'OFF' : 'OK'}</Status>
<Longitude>0.0000000</Longitude>
<Latitude>0.0000000</Latitude>
<Info>
<PTZType>3</PTZType>
</Info>
</Item>`,
    );
    const body = `<?xml version="1.0" encoding="GB2312"?>
<Response>
<CmdType>Catalog</CmdType>
<SN>${sn}</SN>
<DeviceID>${NVR_ID}</DeviceID>
<SumNum>2</SumNum>
<DeviceList Num="2">
${items.join('\n')}
</DeviceList>
</Response>
`;
    await send(message(4, body, 'gb2312'));
    const catalog = await query;
    expect(catalog.map((c) => [c.id, c.name, c.online, c.ptzType])).toEqual([
      ['11010500011310000001', '东门入口', true, 3],
      ['11010500011310000002', '地下车库 B1', false, 3],
    ]);
    // 0,0 is "no position", not a point off the coast of Africa.
    expect(catalog[0]!.longitude).toBeUndefined();
  });

  it('reads an Alarm with its AlarmType inside Info and an EventType, in the site time zone', async () => {
    const mark = inbox.length;
    // A minute ago, on the device's clock, which shows Beijing time without a zone.
    const happened = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    const body = `<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Alarm</CmdType>
<SN>77</SN>
<DeviceID>11010500011310000001</DeviceID>
<AlarmPriority>1</AlarmPriority>
<AlarmMethod>5</AlarmMethod>
<AlarmTime>${toLocal(happened, 'Asia/Shanghai').slice(0, 19)}</AlarmTime>
<AlarmDescription>区域入侵</AlarmDescription>
<Longitude>116.4436</Longitude>
<Latitude>39.9219</Latitude>
<Info>
<AlarmType>6</AlarmType>
<AlarmTypeParam>
<EventType>1</EventType>
</AlarmTypeParam>
</Info>
</Notify>
`;
    await send(message(5, body, 'gb2312'));
    expect(await next(/^SIP\/2\.0 \d{3} [\s\S]*CSeq: 5 MESSAGE/, mark)).toMatch(/^SIP\/2\.0 200 /);
    const a = await waitFor('the alarm', () => alarms[0]);
    expect(a).toMatchObject({ deviceId: '11010500011310000001', method: 5, type: 6, eventType: 1, priority: 1, description: '区域入侵' });
    expect(a.longitude).toBeCloseTo(116.4436);
    expect(a.at).toBe(happened);
    // And the Response MESSAGE the alarm asks for (A.2.6.5) goes back to the device.
    await next(/<CmdType>Alarm<\/CmdType>[\s\S]*<Result>OK<\/Result>/, mark);
  });
});
