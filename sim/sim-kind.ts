/**
 * What the scenario runner can do with one kind's simulator: make one, send its routine reading,
 * and the named actions a timeline may ask for. Each simulator file declares its entry with
 * `simKind`; `sim/kinds.ts` lists them.
 */
import type { SimulatedMqttDevice } from './mqtt-device.js';

export type Args = Record<string, unknown>;
export const num = (a: Args, k: string, d: number) => (typeof a[k] === 'number' ? (a[k] as number) : d);
export const str = (a: Args, k: string, d: string) => (typeof a[k] === 'string' ? (a[k] as string) : d);

export interface SimKind<D extends SimulatedMqttDevice = SimulatedMqttDevice> {
  /** The gateway's name for the kind this simulates (`devices[].kind`). */
  kind: string;
  create(url: string, id: string, secret: string, options: Args, start?: { lat: number; lon: number }): D;
  reading(device: D): Promise<void>;
  /** The topic its routine readings go to: where `garbage` is sent. */
  readingTopic(device: D): string;
  actions: Record<string, (device: D, args: Args) => Promise<void>>;
}

/** Faults any device can show: its link dropped (it comes back after `seconds`), or garbage on its reading topic. */
function faults<D extends SimulatedMqttDevice>(k: SimKind<D>): SimKind<D>['actions'] {
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

/** A kind's simulator entry, with the faults every device can show added to its own actions. */
export function simKind<D extends SimulatedMqttDevice>(k: SimKind<D>): SimKind {
  return { ...k, actions: { ...faults(k), ...k.actions } } as unknown as SimKind;
}
