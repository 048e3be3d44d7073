/**
 * At-least-once from the device side: a device that got no PUBACK sends the message again. It is
 * one occurrence, and `count` must say one: within a connection the resend carries DUP and the
 * same packet id [MQTT-4.3.2]; across a gateway restart it carries the device's own timestamp.
 */
import net from 'node:net';
import { once } from 'node:events';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const device = { id: 'smoke-dup', kind: 'smoke-alarm', secret: 'secret-dup-1' };

/** A device as raw packets: CONNECT, then PUBLISHes with the ids and DUP flags the test chooses, each awaited to its PUBACK. */
async function rawDevice(brokerUrl: string) {
  const socket = net.connect(Number(new URL(brokerUrl).port), '127.0.0.1');
  await once(socket, 'connect');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const waiting: Array<(p: mqttPacket.Packet) => void> = [];
  parser.on('packet', (p) => waiting.shift()?.(p));
  socket.on('data', (d: Buffer) => parser.parse(d));
  const next = () => new Promise<mqttPacket.Packet>((resolve) => waiting.push(resolve));
  let reply = next();
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      clientId: device.id,
      username: device.id,
      password: Buffer.from(device.secret),
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
    }),
  );
  expect(await reply).toMatchObject({ cmd: 'connack', returnCode: 0 });
  return {
    async publish(payload: string, messageId: number, dup: boolean) {
      reply = next();
      socket.write(
        mqttPacket.generate({
          cmd: 'publish',
          topic: `dev/${device.id}/event`,
          payload: Buffer.from(payload),
          qos: 1,
          messageId,
          dup,
          retain: false,
        }),
      );
      expect(await reply).toMatchObject({ cmd: 'puback', messageId });
    },
    close: () => {
      socket.destroy();
    },
  };
}

describe('a message sent again', () => {
  it('with DUP and the same packet id, in the same connection: acknowledged, counted as redelivered, not as a repeat', async () => {
    const t = await startTestGateway({ devices: [device] });
    cleanups.push(() => t.stop());
    const d = await rawDevice(t.brokerUrl);
    cleanups.push(async () => d.close());
    const alarm = JSON.stringify({ event: 'alarm', smokeDensity: 2.5 }); // no timestamp: arrival time is all there is
    await d.publish(alarm, 5, false);
    await d.publish(alarm, 5, true);
    await new Promise((r) => setTimeout(r, 100));
    const opened = t.incidents.filter((m) => m.category === 'fire.smoke_alarm');
    expect(opened.map((m) => m.count)).toEqual([1]);
    expect(t.gateway.counters.get('messages_redelivered_total', { kind: 'smoke-alarm' })).toBe(1);
    // The same payload again as a new message (a new packet id, no DUP): the alarm sounding again, a repeat.
    await d.publish(alarm, 6, false);
    await t.waitForIncident('the repeat', (m) => m.count === 2);
  });

  it('after the gateway restarted before its PUBACK: the same device timestamp is the same occurrence', async () => {
    const dataDir = await tempDir('redelivery');
    const config = { gateway: { id: 'gw-dup', grid: '110105001002000', dataDir }, devices: [device] };
    const alarm = JSON.stringify({ ts: Date.now() - 2000, event: 'alarm', smokeDensity: 3.1 });
    const first = await startTestGateway(config);
    const d1 = await rawDevice(first.brokerUrl);
    await d1.publish(alarm, 1, false);
    d1.close();
    await first.stop();
    const again = await startTestGateway(config);
    cleanups.push(() => again.stop());
    const d2 = await rawDevice(again.brokerUrl);
    cleanups.push(async () => d2.close());
    // A new connection (clean session): the device's library resends what it had no PUBACK for.
    await d2.publish(alarm, 1, true);
    await new Promise((r) => setTimeout(r, 200));
    expect(again.incidents).toEqual([]);
    expect(again.gateway.incidents.activeIncidents()).toMatchObject([{ category: 'fire.smoke_alarm', count: 1 }]);
  });
});
