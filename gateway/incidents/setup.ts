/** The outbox and the incident manager as the config describes them: the durable half of the gateway. */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Config } from '../config/schema.js';
import type { Evidence } from '../evidence/service.js';
import { laneOf } from '../outbox/lanes.js';
import { Outbox } from '../outbox/outbox.js';
import { withOverrides } from './categories.js';
import { IncidentManager } from './manager.js';

export function outboxFor(config: Config, deps: { counters: Counters; log: Logger; cluster?: Cluster | undefined }): Outbox {
  const { counters, log, cluster } = deps;
  return new Outbox({
    ...(cluster ? { log: cluster.log } : { dir: path.join(config.dataDir, 'outbox') }),
    lanes: (category) => laneOf(category, config.outbox.lanes),
    maxBytes: config.outbox.maxBytes,
    maxAgeMs: config.outbox.maxAgeHours * 3600_000,
    onDrop: (entry, reason) => {
      counters.inc('outbox_dropped_total', { lane: String(entry.lane), reason });
      log.error(
        { seq: entry.seq, id: entry.message.id, category: entry.message.category, lane: entry.lane, reason },
        'incident message dropped from the outbox (lowest lane, oldest first)',
      );
    },
    onError: (err) => log.error({ err: err.message }, 'outbox write failed'),
  });
}

export function incidentsFor(
  config: Config,
  deps: { outbox: Outbox; evidence: Evidence; counters: Counters; log: Logger; cluster?: Cluster | undefined },
): IncidentManager {
  const { outbox, counters, log, cluster } = deps;
  const incidents = new IncidentManager({
    gatewayId: config.gateway.id,
    categories: withOverrides(config.incidents.categories),
    storeEvidence: (input) => deps.evidence.forIncident(input),
    nextSeq: () => outbox.nextSeq(),
    persist: (m) => outbox.put(m, laneOf(m.category, config.outbox.lanes)),
    restore: outbox.liveIncidents(),
    ...(cluster ? { exclusive: <T>(change: () => T) => cluster.exclusive(change) } : {}),
    onListenerError: (err) => log.error({ err: (err as Error).message }, 'incident listener failed'),
    onSubmitError: (err, signal) => {
      counters.inc('incident_store_failures_total', { action: signal.action });
      log.warn({ err: (err as Error).message, key: signal.correlationKey }, 'incident change not stored; its cause will try again');
    },
  });
  // The other node's incidents, so repeats fold into them here and commands apply to them.
  outbox.onReplicated((m) => incidents.observe(m));
  incidents.onMessage((m) => {
    counters.inc('incident_messages_total', { category: m.category, type: m.type });
    log.info({ id: m.id, seq: m.seq, type: m.type, category: m.category, status: m.status, grid: m.grid, count: m.count }, 'incident');
  });
  return incidents;
}
