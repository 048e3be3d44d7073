/**
 * A Will of a device whose node died (an HA pair): the surviving node's aedes publishes it once
 * the dead node has been silent for three heartbeats. If the device has meanwhile reconnected
 * here, the Will is stale (it would mark a live device offline) and is dropped. Otherwise it is
 * the device's last word, and goes to the pipeline as its own node would have sent it.
 */
import type { Client } from 'aedes';
import type { BrokerAuth } from './auth.js';
import type { BrokerOptions } from './types.js';

export interface OrphanWill {
  topic: string;
  payload: Buffer | string;
  brokerId?: string;
  clientId?: string;
  retain?: boolean;
  qos?: number;
}

export function orphanWill(
  client: Client | null,
  packet: OrphanWill,
  done: (err?: Error | null) => void,
  deps: { auth: BrokerAuth; connected: (id: string) => boolean; opts: Pick<BrokerOptions, 'counters' | 'log' | 'onMessage'> },
): void {
  const { counters, log, onMessage } = deps.opts;
  const id = packet.clientId ?? '';
  // Refusing is not an option here: aedes publishes these Wills from a batch whose rejections
  // nobody handles, so an error would end the process. A Will not to be delivered is turned into
  // a broker notice on $SYS instead (aedes then deletes the Will as published).
  const drop = (reason: string) => {
    log.info({ device: id.slice(0, 64), node: packet.brokerId, reason }, "a dead node's Will dropped");
    Object.assign(packet, {
      topic: '$SYS/gridedge/dropped-wills',
      payload: Buffer.from(JSON.stringify({ device: id.slice(0, 64), node: packet.brokerId, reason })),
      retain: false,
      qos: 0,
    });
    done(null);
  };
  const session = deps.auth.deviceSession(id);
  const channel = session?.topics.publish.get(packet.topic);
  if (!session || channel === undefined || (client && client.id !== id)) {
    counters.inc('broker_publish_denied_total');
    return drop('not a topic of this device');
  }
  if (deps.connected(id)) {
    counters.inc('broker_stale_wills_total');
    return drop('stale: the device is connected again');
  }
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  log.info({ device: id, node: packet.brokerId }, "a dead node's device did not come back: its Will is published");
  const accepted = onMessage(session, channel, payload, Date.now());
  if (!accepted) return done(null);
  // Not stored: published anyway (a refusal would end the process, see above); the device is gone either way.
  accepted.then(
    () => done(null),
    (err: unknown) => {
      log.warn({ device: id, err: (err as Error).message }, "a dead node's Will could not be fully stored");
      done(null);
    },
  );
}
