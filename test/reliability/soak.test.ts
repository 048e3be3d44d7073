/**
 * The soak's short version (the hour-long one is `npm run soak`): three minutes of a realistic
 * community against a gateway in its own process. Three minutes cannot show a slow leak's trend,
 * so this checks what they can: the gateway keeps taking every message to the end, and memory
 * stays bounded after warm-up (a gross leak, say per message or per connection, shows at once).
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/soak-run.js';

const MINUTES = Number(process.env.GRIDEDGE_SOAK_MINUTES ?? 3);

describe('soak (short)', () => {
  it(
    `runs ${MINUTES} minutes of a community without memory growth or lost messages`,
    async () => {
      const result = await runSoak({ minutes: MINUTES, sampleSeconds: 10 });
      const { samples } = result;
      const sent = Object.values(result.sent).reduce((a, b) => a + b, 0);
      const last = samples.at(-1)!;
      console.log(
        `soak ${MINUTES} min: ${result.devices} devices, ${sent} messages sent, ${last.messagesIn} taken; RSS ` +
          `${samples[0]!.rssMiB.toFixed(0)} → ${last.rssMiB.toFixed(0)} MiB, heap ${samples[0]!.heapMiB.toFixed(1)} → ` +
          `${last.heapMiB.toFixed(1)} MiB`,
      );
      expect(samples.length).toBeGreaterThanOrEqual(MINUTES * 5);
      // The gateway took messages in every interval, and (nearly) all of them: garbage is rejected but still counted in.
      for (let i = 1; i < samples.length; i++) expect(samples[i]!.messagesIn).toBeGreaterThan(samples[i - 1]!.messagesIn);
      expect(last.messagesIn).toBeGreaterThanOrEqual(sent * 0.99);
      // Bounded after warm-up: the second half never holds much more than the first half's peak.
      const half = samples.filter((s) => s.minute < MINUTES / 2);
      const late = samples.filter((s) => s.minute >= MINUTES / 2);
      const peak = (xs: typeof samples, f: (s: (typeof samples)[number]) => number) => Math.max(...xs.map(f));
      expect(peak(late, (s) => s.heapMiB)).toBeLessThan(peak(half, (s) => s.heapMiB) + 24);
      expect(peak(late, (s) => s.rssMiB)).toBeLessThan(peak(half, (s) => s.rssMiB) + 48);
      expect(last.rssMiB).toBeLessThan(400);
    },
    (MINUTES * 60 + 180) * 1000,
  );
});
