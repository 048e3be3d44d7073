/**
 * `gridedge evidence purge|access`: a data subject's captures removed from the gateway's data
 * folder, and who read which evidence. Both work on the data folder; while the gateway runs,
 * purge through its API instead (POST /api/captures/purge), so nothing still queued in the
 * running process goes out after the purge.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { EvidenceAccessLog } from '../evidence/access-log.js';
import { DeliveryQueue } from '../../core/delivery-queue.js';
import type { CaptureMessage } from '../../contracts/capture.js';
import type { EvidenceObject } from '../evidence/sinks/index.js';
import { EvidenceStore } from '../evidence/store.js';
import { loadConfig } from '../config/load.js';
import { purgeCaptures } from '../captures/purge.js';
import { guarded, UsageError } from './args.js';
import { localClock, localDate, zoneLabel } from '../../core/time.js';

/** A queue folder opened only to take jobs out of it (nothing is delivered from here). */
function queueIn<T>(dir: string): DeliveryQueue<T> {
  return new DeliveryQueue<T>({ dir, deliver: () => Promise.reject(new Error('not delivering')), maxBytes: Infinity, maxAgeMs: Infinity });
}

export function evidenceCommand(program: Command): void {
  const cmd = program.command('evidence').description("evidence and captures on the gateway: a subject's purge, the access log");
  cmd
    .command('purge')
    .description('remove every capture of a plate, or one capture by id, with its images and queued deliveries (PIPL art. 47)')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--plate <plate>', 'a plate such as 京A·12345 (separators and case do not matter)')
    .option('--capture <id>', 'one capture id (the id of its gridedge.capture/v1 message)')
    .option('--json', 'the report as JSON', false)
    .action(
      guarded(async (opts: { config: string; plate?: string; capture?: string; json: boolean }) => {
        if (!opts.plate === !opts.capture) throw new UsageError('name exactly one of --plate or --capture');
        if (opts.capture && !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(opts.capture))
          throw new UsageError(`--capture ${opts.capture}: not a capture id (a ULID)`);
        const config = await loadConfig(opts.config, process.env, { requireSecrets: false });
        const push = queueIn<EvidenceObject>(path.join(config.dataDir, 'evidence-push'));
        const outbox = queueIn<CaptureMessage>(path.join(config.dataDir, 'capture-outbox'));
        const report = await purgeCaptures(
          { ...(opts.plate ? { plate: opts.plate } : {}), ...(opts.capture ? { captureId: opts.capture } : {}) },
          {
            indexFile: path.join(config.dataDir, 'captures', 'index.jsonl'),
            store: new EvidenceStore({ dir: path.join(config.dataDir, 'evidence'), retentionHours: config.evidence.retentionHours }),
            unqueueEvidence: (shas) => push.remove((o) => shas.has(o.sha256)),
            unqueueCaptures: (ids) => outbox.remove((m) => ids.has(m.id)),
          },
        );
        if (opts.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        const what = report.plate ? `plate ${report.plate}` : `capture ${report.captureId}`;
        process.stdout.write(
          `${what}: ${report.captures.length} captures, ${report.images} images removed, ${report.unsent} queued deliveries cancelled\n` +
            `${report.note}\n`,
        );
      }),
    );
  cmd
    .command('access')
    .description('who read which evidence through the API, newest first')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--sha256 <sha256>', 'one object')
    .option('--who <name>', 'a token name, or signed-link')
    .option('--since <time>', 'ISO 8601 time (e.g. 2026-12-01T00:00:00+08:00)')
    .option('--limit <n>', 'entries at most', '100')
    .option('--json', 'as JSON', false)
    .action(
      guarded(async (opts: { config: string; sha256?: string; who?: string; since?: string; limit: string; json: boolean }) => {
        const since = opts.since ? Date.parse(opts.since) : undefined;
        if (since !== undefined && Number.isNaN(since)) throw new UsageError(`--since ${opts.since}: not an ISO 8601 time`);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit ${opts.limit}: a whole number ≥ 1`);
        const config = await loadConfig(opts.config, process.env, { requireSecrets: false });
        const log = new EvidenceAccessLog(path.join(config.dataDir, 'state'), config.evidence.accessLog.maxDays);
        const entries = await log.query({
          ...(opts.sha256 ? { sha256: opts.sha256 } : {}),
          ...(opts.who ? { who: opts.who } : {}),
          ...(since !== undefined ? { since } : {}),
          limit,
        });
        if (opts.json) return void process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        if (!entries.length) return void process.stdout.write(`no evidence read recorded (${log.file})\n`);
        // Shown in the site's time zone, with the zone (stored in UTC).
        const tz = config.gateway.timezone;
        for (const e of entries) {
          const ms = Date.parse(e.at);
          const when = `${localDate(ms, tz)} ${localClock(ms, tz)} ${zoneLabel(ms, tz)}`;
          process.stdout.write(
            `${when}  ${String(e.status).padEnd(3)}  ${e.who.padEnd(16)} ${e.via.padEnd(5)} ${e.sha256}${e.ip ? `  ${e.ip}` : ''}\n`,
          );
        }
      }),
    );
}
