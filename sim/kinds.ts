/**
 * What the scenario runner can do with each kind's simulator: make one, send its routine
 * reading, and the named actions a timeline may ask for. One entry per simulated kind.
 */
import { SimulatedCaptureCamera } from './capture-camera.js';
import { SimulatedDrone } from './drone.js';
import { SimulatedGasSensor } from './gas-sensor.js';
import { SimulatedLpgReader } from './lpg-reader.js';
import type { SimulatedMqttDevice } from './mqtt-device.js';
import { SimulatedSmokeAlarm } from './smoke-alarm.js';

type Args = Record<string, unknown>;
const num = (a: Args, k: string, d: number) => (typeof a[k] === 'number' ? (a[k] as number) : d);
const str = (a: Args, k: string, d: string) => (typeof a[k] === 'string' ? (a[k] as string) : d);

export interface SimKind<D extends SimulatedMqttDevice = SimulatedMqttDevice> {
  create(url: string, id: string, secret: string, options: Args, start?: { lat: number; lon: number }): D;
  reading(device: D): Promise<void>;
  /** The topic its routine readings go to: where `garbage` is sent. */
  readingTopic(device: D): string;
  actions: Record<string, (device: D, args: Args) => Promise<void>>;
}

/** Faults any device can show: its link dropped (it comes back after `seconds`), or garbage on its reading topic. */
function faults<D extends SimulatedMqttDevice>(
  k: Omit<SimKind<D>, 'readingTopic'> & { readingTopic(device: D): string },
): SimKind<D>['actions'] {
  return {
    drop: async (d, a) => {
      d.kill();
      setTimeout(() => void d.connect().catch(() => undefined), num(a, 'seconds', 2) * 1000).unref();
    },
    garbage: async (d, a) => {
      const bad = [
        Buffer.from([0, 0xff, 0x13]),
        Buffer.from('{"truncated": '),
        Buffer.from('[]'),
        Buffer.from(JSON.stringify({ battery: 'full', lel: 'lots' })),
      ];
      const offset = num(a, 'offset', 0);
      for (let i = 0; i < num(a, 'count', 10); i++)
        await d.publish(k.readingTopic(d), bad[(i + offset) % bad.length]!).catch(() => undefined);
    },
  };
}

function kind<D extends SimulatedMqttDevice>(k: SimKind<D>): SimKind {
  return { ...k, actions: { ...faults(k), ...k.actions } } as unknown as SimKind;
}

export const simKinds: Record<string, SimKind> = {
  'smoke-alarm': kind<SimulatedSmokeAlarm>({
    create: (url, id, secret) => new SimulatedSmokeAlarm({ url, id, secret, reconnect: true }),
    reading: (d) => d.telemetry(),
    readingTopic: (d) => d.topic('telemetry'),
    actions: {
      alarm: (d, a) => d.alarm(num(a, 'smokeDensity', 2.5)),
      clear: (d) => d.clear(),
      fault: (d, a) => d.fault(str(a, 'code', 'E01')),
      tamper: (d) => d.tamper(),
    },
  }),
  'gas-sensor': kind<SimulatedGasSensor>({
    create: (url, id, secret, o) => new SimulatedGasSensor({ url, id, secret, valve: o.valve === true, reconnect: true }),
    reading: (d) => d.report(d.lel),
    readingTopic: (d) => d.topic('telemetry'),
    actions: {
      leak: (d, a) => d.ramp(num(a, 'lel', 40), Math.max(1, Math.round(num(a, 'steps', 5)))),
      clear: (d) => d.ramp(0, 3),
    },
  }),
  'lpg-reader': kind<SimulatedLpgReader>({
    create: (url, id, secret) => new SimulatedLpgReader({ url, id, secret, reconnect: true }),
    reading: (d) => d.heartbeat(),
    readingTopic: (d) => d.topic('scan'),
    actions: {
      fill: (d, a) => d.fill(str(a, 'tagId', 'CYL0001'), num(a, 'before', 15.5), num(a, 'after', 29.5)),
      deliver: (d, a) => d.deliver(str(a, 'tagId', 'CYL0001'), num(a, 'weight', 29.5)),
    },
  }),
  drone: kind<SimulatedDrone>({
    create: (url, id, secret, _o, start) => {
      const d = new SimulatedDrone({ url, id, secret, reconnect: true });
      if (start) d.position = { ...start, height: 60 };
      return d;
    },
    reading: (d) => d.osd(),
    readingTopic: (d) => `thing/product/${d.id}/osd`,
    actions: {
      flyTo: (d, a) =>
        d.flyTo({ lat: num(a, 'lat', d.position.lat), lon: num(a, 'lon', d.position.lon) }, Math.max(1, Math.round(num(a, 'steps', 5)))),
      battery: async (d, a) => {
        d.battery = num(a, 'percent', 20);
        await d.osd();
      },
    },
  }),
  'capture-camera': kind<SimulatedCaptureCamera>({
    create: (url, id, secret) => new SimulatedCaptureCamera({ url, id, secret, reconnect: true }),
    reading: (d) => d.publish(d.topic('heartbeat'), JSON.stringify({ ts: Date.now() })),
    readingTopic: (d) => d.topic('capture'),
    actions: {
      plate: async (d, a) => void (await d.capturePlate(str(a, 'plate', '京A12345'), { direction: 'in' })),
      face: async (d) => void (await d.captureFace()),
    },
  }),
};
