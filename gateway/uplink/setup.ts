/** The uplink to the central platform as the config describes it, with the platform's commands applied to the incidents. */
import { readFileSync } from 'node:fs';
import type { ReplyEvidence } from '../../contracts/commands.js';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import { VERSION } from '../../core/package.js';
import type { Config } from '../config/schema.js';
import type { IncidentManager } from '../incidents/manager.js';
import type { Outbox } from '../outbox/outbox.js';
import { CommandHandler } from './commands.js';
import { Uplink } from './uplink.js';

export function uplinkFor(
  config: Config,
  deps: {
    outbox: Outbox;
    incidents: IncidentManager;
    counters: Counters;
    log: Logger;
    snapshot?: (cameraId: string) => Promise<ReplyEvidence | undefined>;
  },
): Uplink | undefined {
  const up = config.upstream;
  if (!up) return undefined;
  const { gateway } = config;
  if (!up.commandSecret)
    deps.log.warn('upstream.commandSecret is not set: platform commands (ack, dispatch, resolve, close, snapshot) will be refused');
  return new Uplink({
    url: up.url,
    username: up.username,
    password: up.password,
    protocolVersion: up.protocolVersion,
    tls: {
      rejectUnauthorized: up.rejectUnauthorized,
      ...(up.ca ? { ca: readFileSync(up.ca) } : {}),
      ...(up.cert ? { cert: readFileSync(up.cert) } : {}),
      ...(up.key ? { key: readFileSync(up.key) } : {}),
    },
    clientId: up.clientId ?? `gridedge-${gateway.id}`,
    gatewayId: gateway.id,
    grid: gateway.grid,
    version: VERSION,
    log: deps.log.child({ component: 'uplink' }),
    counters: deps.counters,
    outbox: deps.outbox,
    commands: new CommandHandler({
      incidents: deps.incidents,
      secret: up.commandSecret,
      log: deps.log.child({ component: 'commands' }),
      counters: deps.counters,
      ...(deps.snapshot ? { snapshot: deps.snapshot } : {}),
    }),
  });
}
