/**
 * Work that one node does for the whole gateway: in an HA pair only the leader holds the uplink,
 * expires and compacts the outbox, checks deadlines and raises `device.offline`; alone, a node
 * always leads. Each job is a service with its own timer, skipped while this node does not lead.
 */
import type { Logger } from '../core/log.js';
import type { Cluster } from './cluster/cluster.js';
import type { HeartbeatMonitor } from './heartbeats.js';
import type { IncidentManager } from './incidents/manager.js';
import type { Outbox } from './outbox/outbox.js';
import { every, type Service } from './services.js';
import type { Uplink } from './uplink/uplink.js';

export interface SharedParts {
  cluster?: Cluster | undefined;
  outbox: Outbox;
  uplink?: Uplink | undefined;
  incidents: IncidentManager;
  heartbeats: HeartbeatMonitor;
  log: Logger;
}

/** The HA pair (when there is one), the outbox and the uplink, in start order. */
export function upstreamServices({ cluster, outbox, uplink }: SharedParts): Service[] {
  const pair: Service[] = cluster
    ? [
        {
          name: 'HA pair',
          start: async () => {
            try {
              await cluster.connect();
              await outbox.ready();
            } catch (err) {
              await cluster.stop();
              throw err;
            }
            // The leader holds the uplink; a node that stops leading lets it go without saying offline.
            cluster.onLeadership((leader) => (leader ? uplink?.start() : void uplink?.stop(false)));
            cluster.startLease();
          },
          stop: () => cluster.stop(),
        },
      ]
    : [];
  return [
    ...pair,
    { name: 'outbox', stop: () => outbox.close() },
    ...(uplink ? [{ name: 'uplink', start: () => (cluster ? undefined : uplink.start()), stop: () => uplink.stop() }] : []),
  ];
}

/** The leader's periodic jobs. */
export function leaderJobs({ cluster, outbox, uplink, incidents, heartbeats, log }: SharedParts): Service[] {
  const leading = () => !cluster || cluster.leader;
  // In a pair, changes to incidents go through the pair's lock, after catching up with the other node.
  const exclusively = <T>(change: () => T): Promise<T> => (cluster ? cluster.exclusive(change) : Promise.resolve().then(change));
  return [
    every(
      'outbox expiry',
      60_000,
      async () => {
        await exclusively(() => outbox.expire(uplink?.inFlight));
        if (cluster) await cluster.exclusiveAsync(() => cluster.log.compact());
      },
      { log, leading },
    ),
    every('deadline check', 10_000, () => exclusively(() => incidents.checkDeadlines()), { log, leading }),
    every(
      'offline check',
      5000,
      async () => {
        // Devices connected to the other node were seen there.
        if (cluster) heartbeats.merge(await cluster.lastSeen());
        heartbeats.check();
      },
      { log, leading },
    ),
  ];
}
