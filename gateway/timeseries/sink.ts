/**
 * Where readings go: a time-series store speaking InfluxDB line protocol. Both implementations
 * (the InfluxDB v2 write API, and the local spool used when none is configured or the server
 * fails) take the same lines, so one formatter serves both and a spool replays as it is.
 */
import { Point } from '@influxdata/influxdb-client';
import type { FieldValue } from '../../devices/types.js';

export interface SeriesPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** Milliseconds since the epoch; sinks write with ms precision. */
  ts: number;
}

export interface SinkStats {
  /** Lines accepted by the sink's destination. */
  written: number;
  /** Lines waiting in memory for the next write. */
  pending: number;
  /** Lines given up on (server refused for good, or spool full); never silently. */
  dropped: number;
}

export interface SeriesSink {
  readonly name: string;
  /** Must not block: the ingest path calls it for every reading. */
  writeLine(line: string): void;
  /** Writes what is pending; resolves when the destination has it. */
  flush(): Promise<void>;
  /** Flushes and releases timers and connections. */
  close(): Promise<void>;
  stats(): SinkStats;
}

/** Numbers are always written as floats: InfluxDB refuses a field that changes type. */
export function toLine(point: SeriesPoint): string {
  const p = new Point(point.measurement);
  for (const [k, v] of Object.entries(point.tags)) p.tag(k, v);
  for (const [k, v] of Object.entries(point.fields)) {
    if (typeof v === 'number') p.floatField(k, v);
    else if (typeof v === 'boolean') p.booleanField(k, v);
    else p.stringField(k, v);
  }
  p.timestamp(String(point.ts));
  const line = p.toLineProtocol();
  if (line === undefined) throw new Error(`point '${point.measurement}' has no fields`);
  return line;
}
