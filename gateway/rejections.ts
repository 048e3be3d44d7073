/**
 * Messages the gateway refused, kept for inspection: a bounded ring of the latest ones with
 * the reason and the start of the payload. Logging is thinned per device and reason so that a
 * device spewing garbage cannot flood the log, while the counters still count every one.
 */
import type { Logger } from '../core/log.js';
import type { Counters } from '../core/counters.js';

export interface Rejection {
  at: string;
  deviceId: string;
  kind: string;
  channel: string;
  reason: string;
  detail: string;
  size: number;
  /** The first bytes of the payload, base64, so binary garbage survives inspection. */
  payloadHead: string;
}

const HEAD_BYTES = 512;

export class RejectionLog {
  private readonly ring: Rejection[] = [];
  private next = 0;
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly counters: Counters,
    private readonly log: Logger,
    private readonly capacity = 1000,
  ) {}

  record(deviceId: string, kind: string, channel: string, reason: string, detail: string, payload: Buffer): void {
    this.counters.inc('messages_rejected_total', { kind, reason });
    const entry: Rejection = {
      at: new Date().toISOString(),
      deviceId,
      kind,
      channel,
      reason,
      detail: detail.slice(0, 500),
      size: payload.length,
      payloadHead: payload.subarray(0, HEAD_BYTES).toString('base64'),
    };
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;

    const key = `${deviceId}\u0000${reason}`;
    const n = (this.perSource.get(key) ?? 0) + 1;
    this.perSource.set(key, n);
    if (n === 1 || n % 100 === 0) {
      this.log.warn({ device: deviceId, kind, channel, reason, detail: entry.detail, count: n }, 'device message rejected');
    }
  }

  /** Newest first. */
  latest(limit = 100, deviceId?: string): Rejection[] {
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)].reverse();
    return (deviceId ? ordered.filter((r) => r.deviceId === deviceId) : ordered).slice(0, limit);
  }

  countFor(deviceId: string): number {
    let sum = 0;
    for (const [key, n] of this.perSource) if (key.startsWith(`${deviceId}\u0000`)) sum += n;
    return sum;
  }
}
