/**
 * Upstream topics: `gridedge/v1/{grid}/{gatewayId}/…`, so a platform subscribes to every gateway
 * with `gridedge/v1/+/+/incident`, or to one cell's gateways with `gridedge/v1/{grid}/+/incident`.
 */
export interface UpstreamTopics {
  root: string;
  incident: string;
  status: string;
  /** Filter for platform commands: `…/cmd/{name}`. */
  commands: string;
  reply: string;
}

export function upstreamTopics(grid: string, gatewayId: string): UpstreamTopics {
  const root = `gridedge/v1/${grid}/${gatewayId}`;
  return { root, incident: `${root}/incident`, status: `${root}/status`, commands: `${root}/cmd/+`, reply: `${root}/reply` };
}

export const STATUS_SCHEMA_ID = 'gridedge.status/v1';

export interface GatewayStatus {
  schema: typeof STATUS_SCHEMA_ID;
  gatewayId: string;
  grid: string;
  state: 'online' | 'offline';
  /** When this state began (for `offline` sent as LWT: when the connection it guards began). */
  since: string;
  version: string;
  /**
   * The incident backlog: pending messages, the oldest one's age, the last seq used, and drops by
   * reason. Absent from the Last Will (`lost: true`): the broker sends that one when the link died,
   * and figures written at connect time would be stale by then.
   */
  outbox?: {
    pending: number;
    oldestAgeSeconds: number;
    lastSeq: number;
    dropped: { full: number; expired: number };
  };
  /** Only in the Last Will: the link to the gateway was lost (crash, power, network), it did not say goodbye. */
  lost?: true;
}
