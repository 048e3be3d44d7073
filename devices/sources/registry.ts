/** Every source, one line each. */
import { chirpstack } from './chirpstack.js';
import { ctwing } from './ctwing.js';
import { onenet } from './onenet.js';
import type { PushSourceDefinition, SourceDefinition } from './types.js';
import { zigbee2mqtt } from './zigbee2mqtt.js';

export const SOURCES = [zigbee2mqtt, chirpstack] as const;

export const sourcesByName: ReadonlyMap<string, SourceDefinition<never>> = new Map(
  SOURCES.map((s) => [s.name, s as unknown as SourceDefinition<never>]),
);

/** Sources that push to the gateway over HTTP (a telecom platform): served on the API port. */
export const PUSH_SOURCES = [onenet, ctwing] as const;

export const pushSourcesByName: ReadonlyMap<string, PushSourceDefinition<never>> = new Map(
  PUSH_SOURCES.map((s) => [s.name, s as unknown as PushSourceDefinition<never>]),
);
