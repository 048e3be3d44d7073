/**
 * MQTT-3.3.5-1 and MQTT-3.8.4-6, where aedes is loose: a message matching several of a client's
 * subscriptions is delivered once, at the highest QoS granted among them, and never above the
 * QoS it was published with. aedes delivers it once but through whichever subscription matched
 * first (QoS 0 if that one was), and for a wildcard subscription does not lower a QoS 2 message
 * to the QoS granted. Each client's two delivery functions are wrapped before it subscribes, so
 * every subscription aedes registers goes through the wrapper.
 */
import type { Client } from 'aedes';
import { topicMatches } from './accounts.js';

type Deliver = (packet: { topic: string; qos: number }, cb: () => void) => void;
interface DeliveringClient {
  deliver0: Deliver;
  deliverQoS: Deliver;
  subscriptions: Record<string, { qos: number } | undefined>;
}

/** The highest QoS the client was granted among its subscriptions matching the topic (-1: none). */
export function grantedQos(subscriptions: DeliveringClient['subscriptions'], topic: string): number {
  let best = -1;
  for (const [filter, sub] of Object.entries(subscriptions)) {
    const f = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
    if (sub && sub.qos > best && topicMatches(f, topic)) best = sub.qos;
  }
  return best;
}

export function deliverAtGrantedQos(client: Client): void {
  const c = client as unknown as DeliveringClient;
  const deliver0 = c.deliver0;
  const deliverQoS = c.deliverQoS;
  c.deliverQoS = (packet, cb) => {
    const granted = grantedQos(c.subscriptions, packet.topic);
    // Each subscription's delivery gets its own packet copy from aedes: lowering it here is safe.
    if (granted >= 0 && granted < packet.qos) packet.qos = granted;
    if (packet.qos === 0) deliver0(packet, cb);
    else deliverQoS(packet, cb);
  };
  c.deliver0 = (packet, cb) => {
    // Reached through a QoS 0 subscription; another matching one may grant more.
    const qos = Math.min(packet.qos, Math.max(0, grantedQos(c.subscriptions, packet.topic)));
    if (qos > 0) {
      packet.qos = qos;
      deliverQoS(packet, cb);
    } else deliver0(packet, cb);
  };
}
