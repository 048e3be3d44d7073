/**
 * Prometheus metrics (prom-client): the process's own (RSS, CPU, event-loop lag, GC), gauges
 * read from the gateway's stages at scrape time, and the gateway's counters (messages in per
 * kind, rejections per reason, incidents per category, commands, uplink, evidence...).
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Counters } from '../core/counters.js';

export interface GaugeSpec {
  name: string;
  help: string;
  labelNames?: string[];
  read(): Array<{ labels?: Record<string, string>; value: number }>;
}

export class Metrics {
  private readonly registry = new Registry();

  constructor(
    private readonly counters: Counters,
    gauges: GaugeSpec[],
    private readonly prefix = 'gridedge_',
  ) {
    collectDefaultMetrics({ register: this.registry });
    for (const g of gauges) {
      new Gauge({
        name: `${prefix}${g.name}`,
        help: g.help,
        labelNames: g.labelNames ?? [],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const v of g.read()) {
            if (v.labels) this.set(v.labels, v.value);
            else this.set(v.value);
          }
        },
      });
    }
  }

  /** A histogram the gateway observes into (detector latency). */
  histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram {
    return new Histogram({ name: `${this.prefix}${name}`, help, labelNames, buckets, registers: [this.registry] });
  }

  /** The exposition text: prom-client's registry, then the counters (their keys are already `name{labels}`). */
  async text(): Promise<string> {
    const lines: string[] = [];
    const byName = new Map<string, Array<[string, number]>>();
    for (const [key, value] of Object.entries(this.counters.snapshot())) {
      const name = key.split('{')[0]!;
      (byName.get(name) ?? byName.set(name, []).get(name)!).push([key, value]);
    }
    for (const [name, rows] of byName) {
      lines.push(`# HELP ${this.prefix}${name} gridedge counter ${name}`, `# TYPE ${this.prefix}${name} counter`);
      for (const [key, value] of rows) lines.push(`${this.prefix}${key} ${value}`);
    }
    return `${await this.registry.metrics()}\n${lines.join('\n')}\n`;
  }
}
