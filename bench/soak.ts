/**
 * Soak: an hour of a realistic community against a gateway in its own process, memory sampled
 * every minute (see soak-run.ts). Prints the samples, the slope over the second half and writes
 * bench/results/soak-<date>.json. The reliability suite runs a three-minute version.
 * Run: npm run soak [-- --minutes 60 --sample-seconds 60]   (a short look: --minutes 3 --sample-seconds 10)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { arg } from './args.js';
import { runSoak } from './soak-run.js';

const MINUTES = arg('minutes', 60);
const SAMPLE_SECONDS = arg('sample-seconds', 60);

async function main(): Promise<void> {
  const result = await runSoak({ minutes: MINUTES, sampleSeconds: SAMPLE_SECONDS, progress: (line) => process.stderr.write(`${line}\n`) });
  const { samples } = result;
  const { rss: rssSlope, heap: heapSlope } = result.secondHalfSlopeMiBPerHour;
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  process.stdout.write(
    `${[
      `soak: ${result.devices} devices, ${MINUTES} min, ${samples.length} samples`,
      `RSS ${f(samples[0]?.rssMiB ?? NaN)} → ${f(samples.at(-1)?.rssMiB ?? NaN)} MiB; heap ${f(samples[0]?.heapMiB ?? NaN)} → ` +
        `${f(samples.at(-1)?.heapMiB ?? NaN)} MiB`,
      `trend over the second half: RSS ${f(rssSlope)} MiB/hour, heap ${f(heapSlope)} MiB/hour`,
    ].join('\n')}\n`,
  );
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL(`./results/soak-${result.date.slice(0, 10)}-${MINUTES}min.json`, import.meta.url);
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`written ${out.pathname}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
