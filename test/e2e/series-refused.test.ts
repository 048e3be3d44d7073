/**
 * A series server that refuses some lines must not block the others. InfluxDB 1.6 fixes a
 * field's type with its first write: here an older system wrote `smoke_alarm temperature` as a
 * string, so every reading of ours that carries a temperature is a real field type conflict
 * (HTTP 400, "partial write"). Those lines are kept in the quarantine, counted and shown; every
 * other line is stored, live and from the spool after an outage, and later ones keep flowing.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQuarantine } from '../../gateway/timeseries/quarantine.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type InfluxDB1, startInfluxDB1, waitFor } from '../helpers/servers.js';

let influx: InfluxDB1;
let t: TestGateway;
let warm: SimulatedSmokeAlarm;
let plain: SimulatedSmokeAlarm;

/** Readings stored for one device, by InfluxQL. */
async function stored(device: string): Promise<number> {
  const r = await influx.query(`SELECT count(battery) FROM smoke_alarm WHERE device = '${device}'`, 'gw');
  return Number(r.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
}

beforeAll(async () => {
  influx = await startInfluxDB1();
  await influx.query('CREATE DATABASE gw');
  // The older system's reading: temperature is a string in this database from now on.
  await fetch(`${influx.url}/write?db=gw&precision=ms`, {
    method: 'POST',
    body: `smoke_alarm,device=legacy temperature="warm" ${Date.now() - 60_000}\n`,
  });
  t = await startTestGateway({
    influx: { version: 1, url: influx.url, database: 'gw', batchSize: 20, flushIntervalMs: 100, maxRetries: 1, replayIntervalMs: 500 },
    devices: [
      { id: 'smoke-warm', kind: 'smoke-alarm', secret: 'secret-warm-1' },
      { id: 'smoke-plain', kind: 'smoke-alarm', secret: 'secret-plain-1' },
    ],
  });
  warm = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-warm', secret: 'secret-warm-1', temperature: 24 });
  plain = new SimulatedSmokeAlarm({ url: t.brokerUrl, id: 'smoke-plain', secret: 'secret-plain-1' });
  await Promise.all([warm.connect(), plain.connect()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([warm?.disconnect(), plain?.disconnect()]);
  await t?.stop();
  await influx?.stop();
});

let clock = Date.now() - 120_000;
/**
 * Telemetry from both devices, interleaved so that every batch holds lines of each; each reading
 * with a time of its own (two points of a series at the same millisecond are one point in InfluxDB).
 */
async function interleaved(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    clock += 10;
    await warm.publish(warm.topic('telemetry'), JSON.stringify({ ts: clock, battery: 90, smokeDensity: 0.01, temperature: 24 + (i % 3) }));
    await plain.publish(plain.topic('telemetry'), JSON.stringify({ ts: clock, battery: 80 - i / 10, smokeDensity: 0.02 }));
  }
}

describe('lines the series server refuses', () => {
  it('are quarantined, counted and reported, while every other line of the same batches is stored', async () => {
    await interleaved(30);
    await waitFor('the plain readings', async () => ((await stored('smoke-plain')) >= 30 ? true : undefined), 20_000);
    const quarantine = t.gateway.series.quarantine;
    await waitFor('the refused readings quarantined', () => (quarantine.count >= 30 ? true : undefined), 20_000);
    expect(await stored('smoke-warm')).toBe(0);
    expect(quarantine.count).toBe(30);
    expect(t.gateway.counters.get('series_quarantined_lines_total')).toBe(30);
    const files = await readQuarantine(quarantine.dir);
    expect(files.reduce((n, f) => n + f.lines, 0)).toBe(30);
    expect(files[0]!.reasons.join(' ')).toMatch(/field type conflict/);
    expect(t.gateway.health().problems.join('\n')).toContain('30 series lines refused by the server');
    // Later readings still flow.
    await interleaved(5);
    await waitFor('later plain readings', async () => ((await stored('smoke-plain')) >= 35 ? true : undefined), 20_000);
  }, 60_000);

  it('do not block the spool: after an outage the good lines are replayed, the refused ones quarantined, the files removed', async () => {
    const before = t.gateway.series.quarantine.count;
    await influx.pause();
    await interleaved(20);
    await t.gateway.sink.flush();
    await waitFor('readings spooled', () => (t.gateway.spool.stats().written >= 40 ? true : undefined), 20_000);
    await influx.resume();
    await waitFor('the plain readings replayed', async () => ((await stored('smoke-plain')) >= 55 ? true : undefined), 30_000);
    await waitFor('the refused ones quarantined', () => (t.gateway.series.quarantine.count >= before + 20 ? true : undefined), 20_000);
    const spoolDir = path.join(t.gateway.config.dataDir, 'spool');
    await waitFor(
      'the spool emptied',
      async () => ((await readdir(spoolDir)).filter((f) => f.endsWith('.lp')).length === 0 ? true : undefined),
      20_000,
    );
    expect(await stored('smoke-warm')).toBe(0);
    await interleaved(3);
    await waitFor('readings after the outage', async () => ((await stored('smoke-plain')) >= 58 ? true : undefined), 20_000);
  }, 90_000);
});
