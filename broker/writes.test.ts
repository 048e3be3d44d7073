/**
 * Every packet the broker sends leaves in one TCP write (MQTT-2.1: a packet is a fixed header,
 * a variable header and a payload; written in pieces, Nagle's algorithm holds the second piece
 * until the client's delayed ACK, ~40 ms on Linux). A device with one message in flight, as
 * most field devices publish, would then wait that long for every PUBACK. The client here is a
 * raw socket: a packet that arrives split shows as more reads than packets.
 */
import net from 'node:net';
import { once } from 'node:events';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counters } from '../core/counters.js';
import { createLogger } from '../core/log.js';
import { smokeAlarm } from '../devices/smoke-alarm/index.js';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { makeCerts } from '../test/helpers/certs.js';
import { tempDir } from '../test/helpers/tmp.js';
import { DeviceBroker } from './broker.js';

const device = {
  info: { id: 'smoke-01', kind: 'smoke-alarm', grid: '110105001002001' },
  kind: smokeAlarm,
  secret: 'secret-of-smoke-01',
  options: {},
};

let broker: DeviceBroker;
let port: number;

beforeAll(async () => {
  broker = new DeviceBroker({
    host: '127.0.0.1',
    port: 0,
    brokerId: 'writes',
    devices: [device],
    counters: new Counters(),
    log: createLogger('silent'),
    onMessage: () => undefined,
  });
  port = await broker.start();
});
afterAll(() => broker.stop());

/** Sends CONNECT, then one QoS 1 PUBLISH at a time, each after the previous PUBACK; returns the size of every read. */
async function exchange(socket: net.Socket, publishes: number): Promise<{ reads: number[]; packets: string[] }> {
  const reads: number[] = [];
  const packets: string[] = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  let waiting: (() => void) | undefined;
  parser.on('packet', (p) => {
    packets.push(p.cmd);
    waiting?.();
  });
  socket.on('data', (d: Buffer) => {
    reads.push(d.length);
    parser.parse(d);
  });
  const next = () => new Promise<void>((resolve) => (waiting = resolve));
  const send = (p: mqttPacket.Packet) => socket.write(mqttPacket.generate(p));
  let got = next();
  send({
    cmd: 'connect',
    clientId: 'smoke-01',
    username: 'smoke-01',
    password: Buffer.from('secret-of-smoke-01'),
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
  });
  await got;
  for (let i = 1; i <= publishes; i++) {
    got = next();
    send({
      cmd: 'publish',
      topic: 'dev/smoke-01/telemetry',
      payload: Buffer.from('{"battery":90,"smokeDensity":0.01}'),
      qos: 1,
      messageId: i,
      retain: false,
      dup: false,
    });
    await got;
  }
  socket.destroy();
  return { reads, packets };
}

describe('packets on the wire', () => {
  it('sends CONNACK and each PUBACK in one piece to a plain client', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const { reads, packets } = await exchange(socket, 20);
    expect(packets).toEqual(['connack', ...Array(20).fill('puback')]);
    expect(reads).toEqual(Array(21).fill(4)); // every ack: 2 bytes fixed header + 2 bytes, in one read
  });

  it('sends them in one piece over MQTTS too', async () => {
    const dir = await tempDir('writes-tls');
    const certs = makeCerts(dir);
    const secure = new DeviceBroker({
      host: '127.0.0.1',
      port: 0,
      brokerId: 'writes-tls',
      devices: [device],
      counters: new Counters(),
      log: createLogger('silent'),
      onMessage: () => undefined,
      tls: { port: 0, cert: readFileSync(certs.cert), key: readFileSync(certs.key), requireClientCert: false },
    });
    await secure.start();
    try {
      const socket = tls.connect({ port: secure.tlsPort!, host: '127.0.0.1', ca: readFileSync(certs.ca) });
      await once(socket, 'secureConnect');
      const { reads, packets } = await exchange(socket, 10);
      expect(packets).toEqual(['connack', ...Array(10).fill('puback')]);
      expect(reads).toEqual(Array(11).fill(4));
    } finally {
      await secure.stop();
    }
  });
});
