/**
 * One contract, every sink: what is written can be read back with the same measurement, tags,
 * fields and timestamps, and the sink's counters agree. Each implementation supplies how to
 * build it and how to read its destination back (MQTT.js runs its store tests the same way).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InfluxDB1, startInfluxDB1, startVictoriaMetrics, waitFor, type VictoriaMetrics } from '../../test/helpers/servers.js';
import { createLogger } from '../../core/log.js';
import { InfluxSink, routeInfluxClientLogs } from './influx.js';
import { toLine, type SeriesPoint, type SeriesSink } from './sink.js';
import { SpoolSink } from './spool.js';
import { BatchSink } from './batch-sink.js';
import { postLines } from './target.js';

/** A read-back flattened to `measurement_field{tags} value@ts`, the shape victoria-metrics stores. */
type Sample = string;

function expectedSamples(points: SeriesPoint[]): Sample[] {
  return points
    .flatMap((p) =>
      Object.entries(p.fields).map(([f, v]) => {
        const tags = Object.entries(p.tags)
          .sort()
          .map(([k, t]) => `${k}=${t}`)
          .join(',');
        return `${p.measurement}_${f}{${tags}} ${Number(v)}@${p.ts}`;
      }),
    )
    .sort();
}

function parseLine(line: string): Sample[] {
  // measurement,tag=v,... field=v,... ts  (test points carry no spaces or escapes)
  const [head, fields, ts] = line.split(' ');
  const [measurement, ...tags] = head!.split(',');
  const tagText = tags.sort().join(',');
  return fields!.split(',').map((f) => {
    const [k, v] = f.split('=');
    return `${measurement}_${k}{${tagText}} ${Number(v)}@${ts}`;
  });
}

interface Implementation {
  name: string;
  /** `measurement` is unique per call where the destination is shared between tests. */
  create(): Promise<{ sink: SeriesSink; measurement: string; readBack(): Promise<Sample[]> }>;
}

let vm: VictoriaMetrics;
let influx1: InfluxDB1;
beforeAll(async () => {
  [vm, influx1] = await Promise.all([startVictoriaMetrics(), startInfluxDB1()]);
  await influx1.query('CREATE DATABASE contract');
});
afterAll(async () => {
  await Promise.all([vm?.stop(), influx1?.stop()]);
});

const implementations: Implementation[] = [
  {
    name: 'SpoolSink (local line-protocol files)',
    async create() {
      const dir = await tempDir('spool');
      const sink = new SpoolSink({ dir, flushIntervalMs: 50 });
      return {
        sink,
        measurement: 'smoke_alarm',
        async readBack() {
          const lines: string[] = [];
          for (const f of (await readdir(dir)).sort())
            lines.push(...(await readFile(path.join(dir, f), 'utf8')).split('\n').filter(Boolean));
          return lines.flatMap(parseLine).sort();
        },
      };
    },
  },
  {
    name: 'InfluxSink (InfluxDB v2 write API, served by victoria-metrics)',
    async create() {
      const measurement = `contract_${Math.random().toString(36).slice(2, 8)}`;
      const sink = new InfluxSink({ url: vm.url, token: 'test', org: 'gridedge', bucket: 'test', batchSize: 100, flushIntervalMs: 50 });
      return {
        sink,
        measurement,
        async readBack() {
          const series = await vm.exportSeries(`${measurement}_.*`);
          return series
            .flatMap((s) => {
              const { __name__: name, ...labels } = s.metric;
              const tags = Object.entries(labels)
                .sort()
                .map(([k, v]) => `${k}=${v}`)
                .join(',');
              return s.values.map((v, i) => `${name}{${tags}} ${v}@${s.timestamps[i]}`);
            })
            .sort();
        },
      };
    },
  },
  {
    name: 'BatchSink (InfluxDB 1.x /write API, served by InfluxDB 1.6)',
    async create() {
      const measurement = `contract_${Math.random().toString(36).slice(2, 8)}`;
      const target = { version: 1 as const, url: influx1.url, database: 'contract' };
      const sink = new BatchSink({
        name: 'influx-v1',
        send: (lines) => postLines(target, lines),
        batchSize: 100,
        flushIntervalMs: 50,
        maxRetries: 0,
        fallback: () => undefined,
        refused: async () => 0,
      });
      return {
        sink,
        measurement,
        async readBack() {
          const tagKeys = new Set(
            ((await influx1.query(`SHOW TAG KEYS FROM "${measurement}"`, 'contract')).results[0]?.series?.[0]?.values ?? []).map((v) =>
              String(v[0]),
            ),
          );
          const res = await fetch(
            `${influx1.url}/query?${new URLSearchParams({ db: 'contract', epoch: 'ms', q: `SELECT * FROM "${measurement}"` })}`,
          );
          const series = ((await res.json()) as Awaited<ReturnType<InfluxDB1['query']>>).results[0]?.series?.[0];
          if (!series) return [];
          return series.values
            .flatMap((row) => {
              const at = (c: string) => row[series.columns.indexOf(c)];
              const tags = [...tagKeys]
                .filter((k) => at(k) !== null)
                .sort()
                .map((k) => `${k}=${at(k)}`)
                .join(',');
              return series.columns
                .filter((c) => c !== 'time' && !tagKeys.has(c) && at(c) !== null)
                .map((f) => `${measurement}_${f}{${tags}} ${Number(at(f))}@${at('time')}`);
            })
            .sort();
        },
      };
    },
  },
];

for (const impl of implementations) {
  describe(`series sink contract: ${impl.name}`, () => {
    it('stores every point with its tags, fields and millisecond timestamp, and counts it', async () => {
      const { sink, measurement, readBack } = await impl.create();
      const t0 = Date.now() - 60_000;
      const points: SeriesPoint[] = Array.from({ length: 250 }, (_, i) => ({
        measurement,
        tags: { grid: '110105001002001', device: `smoke-${i % 5}`, kind: 'smoke-alarm' },
        fields: { battery: 100 - i / 10, smoke_density: (i % 7) / 100 },
        ts: t0 + i,
      }));
      for (const p of points) sink.writeLine(toLine(p));
      await sink.flush();
      const expected = expectedSamples(points);
      const got = await waitFor('all samples readable', async () => {
        const samples = await readBack();
        return samples.length >= expected.length ? samples : undefined;
      });
      expect(got).toEqual(expected);
      expect(sink.stats()).toEqual({ written: 250, pending: 0, dropped: 0 });
      await sink.close();
    });

    it('flushes what is pending on close', async () => {
      const { sink, measurement, readBack } = await impl.create();
      const point: SeriesPoint = { measurement, tags: { device: 'd' }, fields: { battery: 42 }, ts: Date.now() - 1000 };
      sink.writeLine(toLine(point));
      await sink.close();
      const got = await waitFor('the point', async () => ((await readBack()).length ? readBack() : undefined));
      expect(got).toEqual(expectedSamples([point]));
    });
  });
}

describe('InfluxSink when the server is gone', () => {
  it('hands the lines it gives up on to the fallback instead of losing them', async () => {
    routeInfluxClientLogs(createLogger('silent'));
    const fallen: string[] = [];
    // A closed loopback port: connection refused, the way a stopped server looks.
    const sink = new InfluxSink({
      url: 'http://127.0.0.1:9',
      token: 't',
      org: 'o',
      bucket: 'b',
      batchSize: 10,
      flushIntervalMs: 20,
      maxRetries: 0,
      fallback: (lines) => fallen.push(...lines),
    });
    const lines = Array.from({ length: 25 }, (_, i) => toLine({ measurement: 'm', tags: {}, fields: { v: i }, ts: 1_700_000_000_000 + i }));
    for (const l of lines) sink.writeLine(l);
    await sink.flush();
    await waitFor('fallback to receive every line', () => (fallen.length === 25 ? true : undefined));
    expect(fallen.sort()).toEqual([...lines].sort());
    expect(sink.stats()).toMatchObject({ written: 0, pending: 0, dropped: 0 });
    await sink.close();
  });
});

describe('SpoolSink bounds', () => {
  it('drops and counts lines beyond its size limit, and reports why', async () => {
    const dir = await tempDir('spool');
    const errors: string[] = [];
    const sink = new SpoolSink({ dir, maxBytes: 100, onError: (e) => errors.push(e.message) });
    sink.writeLine('m v=1 1');
    await sink.flush();
    sink.writeLine(`m v=${'9'.repeat(200)} 2`);
    await sink.flush();
    expect(sink.stats()).toEqual({ written: 1, pending: 0, dropped: 1 });
    expect(errors[0]).toMatch(/is full .* 1 lines dropped/);
    await sink.close();
  });
});
