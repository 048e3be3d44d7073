/**
 * Limits that protect the broker before and after authentication. aedes has no maximum packet
 * size, so `PacketSizeGuard` sits on the socket and reads MQTT fixed headers as bytes arrive:
 * a packet announcing more than the limit is refused before its body is buffered. `RateLimiter`
 * is a token bucket per device for publishes.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class PacketSizeGuard extends Transform {
  /** Bytes of the current packet's body still to pass through. */
  private bodyLeft = 0;
  /** Reading the fixed header: 0 = type byte next, else how many length bytes were read. */
  private lengthBytes = -1;
  private length = 0;
  private multiplier = 1;

  constructor(
    private readonly maxBytes: number,
    private readonly onBreach: (announced: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const skip = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= skip;
        i += skip;
        continue;
      }
      if (this.lengthBytes < 0) {
        this.lengthBytes = 0; // the packet type byte
        this.length = 0;
        this.multiplier = 1;
        i++;
        continue;
      }
      const byte = chunk[i]!;
      i++;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (this.length > this.maxBytes || this.lengthBytes > 4) {
        this.onBreach(this.length);
        done(new Error(`packet of ${this.length} bytes exceeds the limit of ${this.maxBytes}`));
        return;
      }
      if ((byte & 0x80) === 0) {
        this.bodyLeft = this.length;
        this.lengthBytes = -1;
      }
    }
    done(null, chunk);
  }
}

/** A token bucket per key: `rate` per second on average, bursts up to `burst`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  take(key: string): boolean {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
