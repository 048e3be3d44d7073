/** The faults a scenario asks for: misbehaving devices (skew, repeats, reordering, slow links), garbage, drops and outages. */
import { simKinds } from '../kinds.js';
import type { SimulatedMqttDevice } from '../mqtt-device.js';
import { rng, type SimDevice } from './load.js';
import type { Report } from './report.js';
import type { RunOptions } from './runner.js';
import type { FaultSpec, Scenario } from './schema.js';

export type Fleet = Map<string, { spec: SimDevice; sim: SimulatedMqttDevice }>;

/** The devices a fault applies to: by kind and cell, then the seeded share of them. */
function select(f: FaultSpec, devices: Fleet, random: () => number): Array<{ spec: SimDevice; sim: SimulatedMqttDevice }> {
  const pool = [...devices.values()].filter((d) => (!f.kind || d.spec.kind === f.kind) && (!f.grid || d.spec.grid === f.grid));
  // Seeded Fisher–Yates: the same seed picks the same devices.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.round(pool.length * f.fraction));
}

/** Sets the standing misbehaviours now and schedules the timed faults from the start of the run. */
export function applyFaults(
  s: Scenario,
  devices: Fleet,
  random: () => number,
  opts: RunOptions,
  log: Report['faults'],
  say: (line: string) => void,
): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const start = Date.now();
  const at = (seconds: number, fn: () => void) => timers.push(setTimeout(fn, Math.max(0, start + seconds * 1000 - Date.now())));
  for (const f of s.faults) {
    if (f.type === 'upstream-down' || f.type === 'series-down') {
      const proxy = f.type === 'upstream-down' ? opts.upstreamProxy : opts.seriesProxy;
      if (!proxy) continue; // checked before the fleet started
      at(f.at!, () => {
        say(`  t=${f.at}s ${f.type} for ${f.seconds} s`);
        proxy.outage(f.seconds!);
      });
      log.push({ type: f.type, at: f.at!, devices: 0, detail: `${f.seconds} s` });
      continue;
    }
    const chosen = select(f, devices, random);
    if (f.type === 'skew' || f.type === 'duplicate' || f.type === 'reorder' || f.type === 'slow') {
      for (const [i, d] of chosen.entries()) {
        const b = d.sim.behaviour;
        b.random ??= rng(s.seed * 7919 + i);
        if (f.type === 'skew') b.skewMs = f.seconds! * 1000;
        if (f.type === 'duplicate') b.duplicate = f.probability!;
        if (f.type === 'reorder') b.reorder = f.probability!;
        if (f.type === 'slow') b.delayMs = f.delayMs!;
      }
      const detail =
        f.type === 'skew'
          ? `clock ${f.seconds! > 0 ? '+' : ''}${f.seconds} s`
          : f.type === 'slow'
            ? `${f.delayMs} ms per message`
            : `p ${f.probability}`;
      log.push({ type: f.type, devices: chosen.length, detail });
      continue;
    }
    if (f.type === 'disconnect') {
      at(f.at!, () => {
        say(
          `  t=${f.at}s disconnect storm: ${chosen.length} devices drop, back after ${f.seconds} s${f.spread ? ` over ${f.spread} s` : ''}`,
        );
        for (const d of chosen) {
          d.sim.kill();
          const back = (f.seconds! + (f.spread ?? 0) * random()) * 1000;
          timers.push(setTimeout(() => void d.sim.connect().catch(() => undefined), back));
        }
      });
      log.push({
        type: 'disconnect',
        at: f.at!,
        devices: chosen.length,
        detail: `${f.seconds} s${f.spread ? `, back over ${f.spread} s` : ', back at once'}`,
      });
      continue;
    }
    // garbage: malformed payloads from the chosen devices at `rate` per second.
    let sentGarbage = 0;
    const entry = { type: 'garbage', at: f.at!, devices: chosen.length, detail: '' };
    log.push(entry);
    at(f.at!, () => {
      say(`  t=${f.at}s garbage at ${f.rate}/s until t=${f.until}s`);
      const stopAt = start + f.until! * 1000;
      const tick = () => {
        if (Date.now() >= stopAt || !chosen.length) return;
        const d = chosen[Math.floor(random() * chosen.length)]!;
        sentGarbage++;
        entry.detail = `${sentGarbage} malformed payloads at ${f.rate}/s`;
        void simKinds[d.spec.kind]!.actions.garbage!(d.sim, { count: 1, offset: sentGarbage }).catch(() => undefined);
        timers.push(setTimeout(tick, 1000 / f.rate!));
      };
      tick();
    });
  }
  return timers;
}
