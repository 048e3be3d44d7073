/** What every incident stream a platform receives must hold, whatever the gateway went through, and what the devices were told. */
import { expect } from 'vitest';
import type { IncidentMessage } from '../../contracts/incident.js';
import { waitFor } from './servers.js';

/**
 * `seq` runs 1..max with no gap; a seq seen twice is the same message (id and revision); an id
 * belongs to one correlation key and has one `new`. Returns each seq's message.
 */
export function expectWholeStream(received: IncidentMessage[]): Map<number, IncidentMessage> {
  const bySeq = new Map<number, IncidentMessage>();
  for (const m of received) {
    const seen = bySeq.get(m.seq);
    if (seen)
      expect({ id: m.id, revision: m.revision }).toEqual({ id: seen.id, revision: seen.revision }); // duplicates only as the same message
    else bySeq.set(m.seq, m);
  }
  const maxSeq = Math.max(...bySeq.keys());
  expect([...bySeq.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: maxSeq }, (_, i) => i + 1));
  const keyOf = new Map<string, string>();
  for (const m of bySeq.values()) {
    expect(keyOf.get(m.id) ?? m.correlationKey).toBe(m.correlationKey);
    keyOf.set(m.id, m.correlationKey);
  }
  const news = [...bySeq.values()].filter((m) => m.type === 'new').map((m) => m.id);
  expect(new Set(news).size).toBe(news.length);
  return bySeq;
}

/**
 * Waits until every acknowledged alarm (each sent with a unique smoke density) is among the
 * incidents received; otherwise fails naming how many are missing, with `context` (what the gateway said).
 */
export async function waitForEveryAlarm(
  received: () => IncidentMessage[],
  densities: number[],
  timeoutMs: number,
  context: () => string,
): Promise<void> {
  const arrived = () => new Set(received().map((m) => m.facts.smokeDensity));
  // One parse per poll: thousands of alarms against thousands of messages must not be quadratic.
  const allArrived = () => {
    const seen = arrived();
    return densities.every((d) => seen.has(d)) || undefined;
  };
  await waitFor('every acknowledged alarm upstream', allArrived, timeoutMs).catch((err: Error) => {
    const seen = arrived();
    const missing = densities.filter((d) => !seen.has(d));
    throw new Error(
      `${err.message}: ${missing.length} of ${densities.length} missing, e.g. ${missing.slice(0, 5).join(', ')}; received ` +
        `${received().length}; ${context()}`,
    );
  });
}

/** Whether a device's QoS 1 publish got its PUBACK within `ms`: false, not a hang, when the gateway dies under it. */
export function acked(p: Promise<void>, ms = 3000): Promise<boolean> {
  return Promise.race([
    p.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);
}
