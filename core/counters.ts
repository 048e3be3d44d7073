/**
 * Counters the gateway keeps about itself (messages, rejections, refusals). Labels are folded
 * into the key once, so the hot path increments a Map entry and nothing more. /metrics exports
 * these through prom-client; tests and `gridedge demo` read them directly.
 */
export type Labels = Record<string, string>;

export function counterKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, labels?: Labels, by = 1): void {
    this.incKey(counterKey(name, labels), by);
  }

  incKey(key: string, by = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(name: string, labels?: Labels): number {
    return this.values.get(counterKey(name, labels)) ?? 0;
  }

  /** Sum over every label set of one counter name. */
  total(name: string): number {
    let sum = 0;
    for (const [key, value] of this.values) {
      if (key === name || key.startsWith(`${name}{`)) sum += value;
    }
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }
}
