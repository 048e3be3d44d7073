/**
 * Flood limits per source address: token buckets for REGISTER, INVITE and the rest. What is over
 * the limit is dropped unanswered (answering a flood of forged UDP sources would make the
 * gateway a reflector) and counted; the address is logged once a minute while it lasts.
 */
export type FloodClass = 'register' | 'invite' | 'message';

interface Bucket {
  tokens: number;
  at: number;
}

export class FloodGuard {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: Record<FloodClass, number>;
  private readonly burst: Record<FloodClass, number>;

  constructor(
    perMinute: Record<FloodClass, number>,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = {
      register: perMinute.register / 60_000,
      invite: perMinute.invite / 60_000,
      message: perMinute.message / 60_000,
    };
    // A burst of a quarter minute's worth: an NVR re-registering all at once after a power cut passes.
    this.burst = {
      register: Math.max(5, perMinute.register / 4),
      invite: Math.max(5, perMinute.invite / 4),
      message: Math.max(20, perMinute.message / 4),
    };
  }

  /** Whether one more request of this class from `address` is allowed now. */
  take(address: string, cls: FloodClass): boolean {
    const key = `${cls}|${address}`;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 50_000) this.prune(now);
      b = { tokens: this.burst[cls], at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst[cls], b.tokens + (now - b.at) * this.perMs[cls]);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets full buckets (addresses quiet long enough to have refilled). */
  private prune(now: number): void {
    for (const [key, b] of this.buckets) {
      const cls = key.slice(0, key.indexOf('|')) as FloodClass;
      if (b.tokens + (now - b.at) * this.perMs[cls] >= this.burst[cls]) this.buckets.delete(key);
    }
  }
}

export function floodClass(method: string): FloodClass {
  if (method === 'REGISTER') return 'register';
  if (method === 'INVITE') return 'invite';
  return 'message';
}
