/** The gateway's health as `/healthz` and the console show it: the figures, and in plain words what is wrong. */
import { VERSION } from '../core/package.js';
import type { Health } from './api/context.js';
import type { Gateway } from './gateway.js';

export function gatewayHealth(gw: Gateway): Health {
  const { cluster, uplink, config } = gw;
  const problems: string[] = [];
  if (cluster && !cluster.reachable)
    problems.push("the HA pair's redis is unreachable: alarms get no PUBACK (devices resend them) and no node leads until it is back");
  // In an HA pair only the leader holds the uplink: the other node's is down by design.
  if (uplink && !uplink.connected && (!cluster || cluster.leader)) problems.push('uplink to the central platform is down');
  const series = gw.sink.stats();
  if (series.dropped > 0) problems.push(`${series.dropped} series lines dropped`);
  const quarantined = gw.series.quarantine.count;
  if (quarantined > 0)
    problems.push(`${quarantined} series lines refused by the server, kept in ${gw.series.quarantine.dir} (gridedge spool quarantine)`);
  const outbox = gw.outbox.stats();
  const dropped = outbox.dropped.full + outbox.dropped.expired;
  if (dropped > 0) problems.push(`${dropped} incident messages dropped from the outbox`);
  const push = gw.evidenceService.push?.stats();
  if (push) {
    const lost = push.dropped.full + push.dropped.expired + push.dropped.undeliverable;
    if (lost > 0) problems.push(`${lost} evidence objects dropped before they reached the centre`);
    if (push.lastError && push.oldestAgeSeconds > 300)
      problems.push(`evidence push (${push.sink}) failing for ${push.oldestAgeSeconds} s: ${push.lastError}`);
  }
  const viid = gw.captures.viid?.health();
  if (viid && !viid.registered) problems.push(`not registered with the 视图库 ${viid.url}${viid.lastError ? `: ${viid.lastError}` : ''}`);
  else if (viid?.pending && viid.lastError) problems.push(`${viid.pending} captures waiting for the 视图库: ${viid.lastError}`);
  if (viid) {
    const lost = viid.dropped.full + viid.dropped.expired + viid.dropped.undeliverable;
    if (lost > 0) problems.push(`${lost} captures dropped before they reached the 视图库`);
  }
  return {
    status: problems.length ? 'degraded' : 'ok',
    gatewayId: config.gateway.id,
    grid: config.gateway.grid,
    version: VERSION,
    timezone: config.gateway.timezone,
    uptimeSeconds: Math.round((Date.now() - gw.startedAt) / 1000),
    broker: { connectedClients: gw.broker.connectedClients },
    uplink: { configured: Boolean(uplink), connected: uplink?.connected ?? false },
    series: { sink: gw.sink.name, ...series },
    incidents: { active: gw.incidents.activeIncidents().length },
    outbox: { pending: outbox.pending, oldestAgeSeconds: Math.round(outbox.oldestAgeMs / 1000), lastSeq: outbox.lastSeq, dropped },
    ...(push ? { evidencePush: push } : {}),
    ...(viid ? { viid } : {}),
    ...(cluster && config.cluster ? { cluster: { node: config.cluster.node, leader: cluster.leader } } : {}),
    problems,
  };
}
