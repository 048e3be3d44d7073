/**
 * Hostile SIP at the gateway's port, from 127.0.0.2, while a real device registered from
 * 127.0.0.1 keeps its keepalives going: garbage, malformed requests, a Content-Length that lies,
 * an oversized TCP message, a TCP stream that never ends its headers, REGISTER and INVITE floods.
 * Each is refused under its own reason in gb28181_sip_refused_total, and the device is still
 * served at the end (its keepalives answered, its catalog queried).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { CHANNEL_IDS, DOMAIN, GATEWAY_SIP_ID, gbSettings, NVR_ID } from '../../test/helpers/gb28181.js';
import { waitFor } from '../../test/helpers/servers.js';
import { Gb28181Service } from './service.js';

const ATTACKER = '127.0.0.2';
let gb: Gb28181Service;
let counters: Counters;
let port: number;
let device: SimulatedGbDevice;
let udp: dgram.Socket;

const refused = (reason: string) => counters.get('gb28181_sip_refused_total', { reason });

function request(method: string, n: number, extra = ''): Buffer {
  return Buffer.from(
    `${method} sip:${GATEWAY_SIP_ID}@${DOMAIN} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${ATTACKER}:5060;branch=z9hG4bK-flood-${n}\r\n` +
      `From: <sip:34020000001320000099@${DOMAIN}>;tag=f${n}\r\n` +
      `To: <sip:${GATEWAY_SIP_ID}@${DOMAIN}>\r\n` +
      `Call-ID: flood-${n}@${ATTACKER}\r\n` +
      `CSeq: ${n} ${method}\r\n` +
      `${extra}Content-Length: 0\r\n\r\n`,
  );
}

async function sendUdp(data: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => udp.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

beforeAll(async () => {
  counters = new Counters();
  gb = new Gb28181Service(
    gbSettings({
      limits: { registersPerMinute: 10, invitesPerMinute: 5, messagesPerMinute: 6000, maxStreams: 4 },
      devices: [{ id: NVR_ID, grid: '110105001002001', password: 'nvr-password-1', guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters, log: createLogger('silent') },
  );
  port = await gb.start();
  device = new SimulatedGbDevice({
    id: NVR_ID,
    password: 'nvr-password-1',
    server: { host: '127.0.0.1', port, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: [{ id: CHANNEL_IDS[0]!, name: '东门入口' }],
    keepaliveSeconds: 1,
  });
  await device.start();
  udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, ATTACKER, () => r()));
}, 30_000);

afterAll(async () => {
  udp?.close();
  await device?.stop();
  await gb?.stop();
});

describe('GB/T 28181 under hostile input', () => {
  it('refuses garbage and malformed requests, each under its reason', async () => {
    await sendUdp(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05]));
    await sendUdp(Buffer.from('HELLO THERE\r\n\r\n'));
    await sendUdp(Buffer.from(`REGISTER sip:${GATEWAY_SIP_ID}@${DOMAIN} SIP/3.0\r\nVia: x\r\n\r\n`));
    await sendUdp(request('MESSAGE', 1).subarray(0, 120)); // cut inside a header, no end of headers
    await sendUdp(Buffer.from(request('MESSAGE', 2).toString().replace('Content-Length: 0', 'Content-Length: 9000')));
    await sendUdp(
      Buffer.from(
        request('MESSAGE', 3)
          .toString()
          .replace(/CSeq: .*\r\n/, 'CSeq: many MESSAGE\r\n'),
      ),
    );
    await sendUdp(
      Buffer.from(
        request('MESSAGE', 4)
          .toString()
          .replace(/Call-ID: .*\r\n/, ''),
      ),
    );
    await waitFor('seven refusals', () => {
      const total = ['start_line', 'version', 'header', 'missing_header', 'cseq', 'content_length', 'empty'].reduce(
        (n, r) => n + refused(r),
        0,
      );
      return total >= 7 || undefined;
    });
    expect(refused('version')).toBeGreaterThanOrEqual(1);
    expect(refused('content_length')).toBeGreaterThanOrEqual(1);
    expect(refused('cseq')).toBeGreaterThanOrEqual(1);
    expect(refused('missing_header')).toBeGreaterThanOrEqual(1);
  });

  it('refuses an oversized TCP message and a stream that never ends its headers, closing the connection', async () => {
    for (const payload of [
      Buffer.concat([request('MESSAGE', 5).subarray(0, 60), Buffer.alloc(70_000, 'a')]),
      Buffer.from(`MESSAGE sip:${GATEWAY_SIP_ID}@${DOMAIN} SIP/2.0\r\n${'X-Pad: y\r\n'.repeat(3000)}`),
    ]) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port, localAddress: ATTACKER });
        s.on('error', () => undefined);
        s.once('connect', () => s.write(payload));
        s.once('close', () => resolve(true));
        setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 5000);
      });
      expect(closed).toBe(true);
    }
    expect(refused('too_large') + refused('too_many_headers')).toBeGreaterThanOrEqual(2);
  });

  it('drops REGISTER and INVITE floods from one address past their limits, counted as flood', async () => {
    const before = refused('flood');
    for (let i = 0; i < 40; i++) await sendUdp(request('REGISTER', 100 + i));
    for (let i = 0; i < 30; i++) await sendUdp(request('INVITE', 200 + i, 'Contact: <sip:x@127.0.0.2:5060>\r\n'));
    // Past 10 REGISTERs and 5 INVITEs a minute, the rest are dropped unanswered.
    await waitFor('the floods counted', () => (refused('flood') - before >= 40 + 30 - 15 ? true : undefined));
    expect(counters.get('gb28181_sip_requests_total', { method: 'REGISTER' })).toBeLessThanOrEqual(12);
  });

  it('keeps serving the registered device through it all', async () => {
    const sent = device.agent.keepalivesSent;
    await waitFor('two more keepalives answered', () => (device.agent.keepalivesSent >= sent + 2 ? true : undefined), 10_000);
    expect(gb.view(NVR_ID)).toMatchObject({ registered: true });
    const items = await gb.queryCatalog(NVR_ID);
    expect(items.map((i) => i.id)).toEqual([CHANNEL_IDS[0]]);
    // Its keepalives were answered 200: it never had to register again.
    expect(device.registered).toBe(true);
    expect(counters.get('gb28181_register_total', { result: 'ok' })).toBe(1);
  });
});
