/** The embedded broker as the config describes it, feeding the pipeline. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type BrokerOptions, DeviceBroker } from '../broker/broker.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import type { Cluster } from './cluster/cluster.js';
import type { Config } from './config/schema.js';
import type { GatewayDevice } from './devices/directory.js';
import type { Pipeline } from './pipeline.js';

export function deviceBroker(
  config: Config,
  deps: { devices: GatewayDevice[]; pipeline: Pipeline; counters: Counters; log: Logger; cluster?: Cluster },
): DeviceBroker {
  const { broker, gateway } = config;
  const { pipeline, cluster } = deps;
  const tls = broker.tls;
  const options: BrokerOptions = {
    host: broker.host,
    port: broker.port,
    limits: broker,
    accounts: broker.accounts.map((a) => ({
      username: a.username,
      ...(a.password ? { password: a.password } : {}),
      ...(a.passwordHash ? { passwordHash: a.passwordHash } : {}),
      acl: a.acl,
    })),
    statsIntervalSeconds: broker.statsIntervalSeconds,
    persistenceDir: path.join(config.dataDir, 'broker'),
    ...(cluster && config.cluster
      ? {
          cluster: { redisUrl: config.cluster.redis, node: config.cluster.node, heartbeatSeconds: config.cluster.heartbeatSeconds },
          // The device may come from the other node: its rule memory first, then its CONNACK.
          beforeConnack: (session) => cluster.loadRules(session.device.id).then((rules) => pipeline.restoreRules(session.device.id, rules)),
        }
      : {}),
    ...(tls
      ? {
          tls: {
            port: tls.port,
            cert: readFileSync(tls.cert),
            key: readFileSync(tls.key),
            ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
            requireClientCert: tls.requireClientCert,
            ...(tls.crl ? { crlFile: tls.crl } : {}),
          },
        }
      : {}),
    brokerId: config.cluster ? `gridedge-${gateway.id}-${config.cluster.node}` : `gridedge-${gateway.id}`,
    devices: deps.devices,
    counters: deps.counters,
    log: deps.log,
    onMessage: (session, channel, payload, receivedAt, delivery) => pipeline.handle(session, channel, payload, receivedAt, delivery),
    onPresence: (session, connected) => pipeline.presence(session.device, connected),
  };
  return new DeviceBroker(options);
}
