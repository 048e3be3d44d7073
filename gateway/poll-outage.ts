/**
 * A platform's API that stops answering for a device, as the device's availability: after
 * `after` failed rounds in a row the device is reported offline (its kind raises device.offline,
 * with the reason); the first good round after that reports it online again, unless the
 * platform itself last said it is offline. Shared by the OneNET and CTWing pollers.
 */
import type { SourceEvent } from '../devices/sources/types.js';

export class PollOutage {
  private readonly failures = new Map<string, number>();
  private readonly down = new Set<string>();

  constructor(
    private readonly after: number,
    private readonly reason: string,
    private readonly emit: (ev: SourceEvent) => void,
    /** What the platform last said of the device's state, if it said anything. */
    private readonly platformSays: (id: string) => boolean | undefined,
  ) {}

  failed(id: string): void {
    const n = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, n);
    if (n !== this.after) return;
    this.down.add(id);
    this.emit({ type: 'availability', externalId: id, online: false, reason: this.reason });
  }

  answered(id: string): void {
    this.failures.delete(id);
    if (this.down.delete(id) && this.platformSays(id) !== false) this.emit({ type: 'availability', externalId: id, online: true });
  }

  /** Whether the device is offline because of the API, not the platform (the platform's own news waits). */
  isDown(id: string): boolean {
    return this.down.has(id);
  }
}
