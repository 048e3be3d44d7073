/**
 * Notices devices that went quiet: each kind (or device) says how often a healthy device speaks;
 * after three missed periods the gateway raises `device.offline` (or the kind's own category,
 * `drone.link_lost` for a drone), and the device's next message resolves it. State is the
 * incident itself, so it holds across restarts.
 */
import type { DeviceInfo } from '../devices/types.js';
import type { IncidentManager } from './incidents/manager.js';

export const MISSED_HEARTBEATS = 3;

export interface Watched {
  info: DeviceInfo;
  heartbeatSeconds?: number;
  /** Default `device.offline`. */
  category?: string;
}

export class HeartbeatMonitor {
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;

  constructor(
    private readonly devices: Watched[],
    private readonly incidents: IncidentManager,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.startedAt = this.now();
    for (const d of devices) if (d.category) this.categoryOf.set(d.info.id, d.category);
  }

  private readonly categoryOf = new Map<string, string>();

  /** An HA pair: each sighting is shared, so the leader's checks count devices on the other node. */
  share?: (deviceId: string, at: number) => void;

  /** Sightings from the other node of an HA pair (the later one counts). */
  merge(lastSeen: ReadonlyMap<string, number>): void {
    for (const [id, at] of lastSeen) if (at > (this.lastSeen.get(id) ?? 0)) this.lastSeen.set(id, at);
  }

  private key(deviceId: string): string {
    return `${this.categoryOf.get(deviceId) ?? 'device.offline'}:${deviceId}`;
  }

  /** Called for every message from the device; resolves its offline incident if one is open. */
  seen(device: DeviceInfo, at: number): void {
    this.lastSeen.set(device.id, at);
    this.share?.(device.id, at);
    const key = this.key(device.id);
    if (this.incidents.isActive(key)) {
      this.incidents.submit({ action: 'resolve', correlationKey: key, occurredAt: at, reason: 'the device is reporting again' }, device);
    }
  }

  add(d: Watched): void {
    this.devices.push(d);
    if (d.category) this.categoryOf.set(d.info.id, d.category);
  }

  remove(deviceId: string): void {
    const i = this.devices.findIndex((d) => d.info.id === deviceId);
    if (i >= 0) this.devices.splice(i, 1);
    this.lastSeen.delete(deviceId);
  }

  /**
   * What brings the device says it cannot be reached (a source's broker gone, zigbee2mqtt's
   * availability): the offline incident now, without waiting out the heartbeats.
   */
  unreachable(device: DeviceInfo, reason: string): void {
    const key = this.key(device.id);
    if (this.incidents.isActive(key)) return;
    const last = this.lastSeen.get(device.id);
    this.incidents.submit(
      {
        action: 'raise',
        category: this.categoryOf.get(device.id) ?? 'device.offline',
        correlationKey: key,
        occurredAt: this.now(),
        facts: { lastSeen: last ? new Date(last).toISOString() : 'not since the gateway started', reason },
      },
      device,
    );
  }

  /** Raises device.offline for every device silent for MISSED_HEARTBEATS periods. */
  check(): void {
    const now = this.now();
    for (const d of this.devices) {
      if (!d.heartbeatSeconds) continue;
      const last = this.lastSeen.get(d.info.id);
      const silentMs = now - (last ?? this.startedAt);
      const key = this.key(d.info.id);
      if (silentMs > d.heartbeatSeconds * MISSED_HEARTBEATS * 1000 && !this.incidents.isActive(key)) {
        this.incidents.submit(
          {
            action: 'raise',
            category: d.category ?? 'device.offline',
            correlationKey: key,
            occurredAt: now,
            facts: {
              lastSeen: last ? new Date(last).toISOString() : 'not since the gateway started',
              expectedEverySeconds: d.heartbeatSeconds,
            },
          },
          d.info,
        );
      }
    }
  }
}
