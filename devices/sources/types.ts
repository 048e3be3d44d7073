/**
 * Sources: the transports that bring devices which do not speak gridedge's JSON (zigbee2mqtt,
 * a ChirpStack network server). A source reads its own topics and says, for each message,
 * which device it is about (the external id: a zigbee2mqtt friendly name or IEEE address, a
 * LoRaWAN DevEUI), and what for the device's model (models/); it also knows how to send a
 * model's downlink. Each declares itself in its own file and is added in registry.ts.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { Downlink, ModelInput, SourceName } from '../models/types.js';

export type SourceEvent =
  /** Data for one device's model; `route` is what a downlink to it needs (ChirpStack: its application). */
  | { type: 'data'; externalId: string; input: ModelInput; route?: string }
  /** The source says a device is reachable or not (zigbee2mqtt availability); `reason` says why, when it is not. */
  | { type: 'availability'; externalId: string; online: boolean; reason?: string }
  /** What the source can offer for adoption (zigbee2mqtt bridge/devices). */
  | { type: 'inventory'; devices: Array<{ externalId: string; aliases: string[]; model?: string; vendor?: string; description?: string }> }
  /** Not for us (the bridge's own state, a retained log line). */
  | { type: 'ignored' }
  /** A message that cannot be read: refused and counted, for the device when it is known. */
  | { type: 'refused'; externalId?: string; reason: string };

export interface SourceDefinition<C> {
  readonly name: SourceName;
  readonly description: string;
  /** `sources.<name>` in the config. */
  readonly configSchema: TSchema;
  /** The topic filters to subscribe to on the source's broker. */
  subscriptions(config: C): string[];
  /** One message from the source's broker. */
  parse(topic: string, payload: Buffer, config: C): SourceEvent;
  /** Where and what to publish for a model's downlink to one device. */
  downlink?(externalId: string, down: Downlink, config: C, route?: string): { topic: string; payload: string } | undefined;
}

export function defineSource<C>(s: SourceDefinition<C>): SourceDefinition<C> {
  return s;
}

export function parseJson(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One HTTP request a platform pushes to the gateway (OneNET's data push). */
export interface PushRequest {
  method: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Who sent it (the socket's peer, or the proxy's client with api.trustProxy). */
  remoteAddress?: string;
}

/** What to answer, and what the request said. */
export interface PushResult {
  status: number;
  /** text/plain answer (OneNET's URL check wants its msg back). */
  body: string;
  events: SourceEvent[];
  /** Per event, a key that is the same when the platform sends it again (its retries): seen once, taken once. */
  keys?: string[];
  /** Why it was refused, for the log and the counters (never the token). */
  refused?: string;
}

/** A push refused: the answer, and why (for the log and the counters). */
export function refusePush(status: number, why: string): PushResult {
  return { status, body: why, events: [], refused: why };
}

/** A source the platform pushes to over HTTP; the gateway serves `path`. */
export interface PushSourceDefinition<C> {
  readonly name: string;
  readonly description: string;
  readonly configSchema: TSchema;
  path(config: C): string;
  handle(req: PushRequest, config: C): PushResult;
}

/** The settings every source on a broker has: where the broker is, how to log in, the bounds. */
export function brokerSettings(name: string, broker: string) {
  return {
    url: Type.String({ pattern: '^(mqtt|mqtts)://[^\\s]+$', description: `the broker ${broker}` }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: `or GRIDEDGE_SOURCE_PASSWORD_${name.toUpperCase()}` }),
    ),
    maxMessageBytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 65_536 }),
    offlineAfterSeconds: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      default: 60,
      description: 'the broker gone this long: every device of this source is reported offline',
    }),
  };
}

export interface BrokerSettings {
  url: string;
  username?: string;
  password?: string;
  maxMessageBytes: number;
  offlineAfterSeconds: number;
}

/** How a platform's API is polled where its push cannot reach the gateway (sources.onenet.poll, sources.ctwing.poll). */
export const PollTiming = {
  everySeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'how often each device is read' }),
  timeoutMs: Type.Integer({ minimum: 500, maximum: 60_000, default: 10_000 }),
  offlineAfterFailures: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 3,
    description: 'rounds in a row the API fails for a device before it is reported offline',
  }),
};
export interface PollTimingSettings {
  everySeconds: number;
  timeoutMs: number;
  offlineAfterFailures: number;
}
