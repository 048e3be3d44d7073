/** Every source, one line each. */
import { chirpstack } from './chirpstack.js';
import type { SourceDefinition } from './types.js';
import { zigbee2mqtt } from './zigbee2mqtt.js';

export const SOURCES = [zigbee2mqtt, chirpstack] as const;

export const sourcesByName: ReadonlyMap<string, SourceDefinition<never>> = new Map(
  SOURCES.map((s) => [s.name, s as unknown as SourceDefinition<never>]),
);
