/**
 * A device's topics come from its kind's declaration with `{id}` filled in: the registry stays the
 * one source of truth for what a device may publish and subscribe to. Device ids cannot contain
 * `/`, `+` or `#` (config pattern), so the substitution cannot widen a topic.
 */
import type { DeviceKind } from '../devices/types.js';

export interface DeviceTopics {
  /** Exact topic → channel name the kind's codec understands. */
  publish: Map<string, string>;
  /** Exact topic filters the device may subscribe to. */
  subscribe: Set<string>;
  /**
   * Topics it publishes for a sub-device behind it (a DJI dock for its aircraft:
   * `thing/product/{aircraft sn}/osd`), with the sub-device whose messages they are.
   */
  onBehalf?: Map<string, string>;
}

export function deviceTopics(kind: DeviceKind, deviceId: string): DeviceTopics {
  const publish = new Map<string, string>();
  for (const [channel, pattern] of Object.entries(kind.publishes)) {
    publish.set(pattern.replaceAll('{id}', deviceId), channel);
  }
  const subscribe = new Set(Object.values(kind.commands).map((p) => p.replaceAll('{id}', deviceId)));
  return { publish, subscribe };
}

/**
 * The topics a gateway device (a DJI dock) may also publish: each sub-device's own publish
 * topics, which the Cloud API has the dock send for its aircraft over the dock's connection.
 * Only sub-devices the registry declares behind it; never another device's.
 */
export function addSubDevice(gateway: DeviceTopics, kind: DeviceKind, subDeviceId: string): void {
  gateway.onBehalf ??= new Map();
  for (const [channel, pattern] of Object.entries(kind.publishes)) {
    const topic = pattern.replaceAll('{id}', subDeviceId);
    gateway.publish.set(topic, channel);
    gateway.onBehalf.set(topic, subDeviceId);
  }
}
