/**
 * zigbee2mqtt (its MQTT topics, as its documentation defines them): each device's state is a
 * JSON object on `<base>/<friendly name>`; `<base>/<friendly name>/availability` is `{"state":
 * "online"|"offline"}` (or, before z2m 1.x's JSON availability, the bare word); the retained
 * `<base>/bridge/devices` lists every paired device with its IEEE address and definition, and
 * `<base>/bridge/…` is otherwise the bridge's own business. A friendly name may hold `/`.
 * Devices are named in the config by friendly name or IEEE address (0x + 16 hex digits).
 */
import { Type } from '@sinclair/typebox';
import { type BrokerSettings, brokerSettings, defineSource, parseJson, type SourceEvent } from './types.js';

export const Zigbee2mqttConfig = Type.Object(
  {
    ...brokerSettings('zigbee2mqtt', 'zigbee2mqtt publishes to (its mqtt.server)'),
    baseTopic: Type.String({ pattern: '^[^#+\\s]+$', default: 'zigbee2mqtt', description: "zigbee2mqtt's mqtt.base_topic" }),
  },
  { additionalProperties: false },
);
export interface Zigbee2mqttSettings extends BrokerSettings {
  baseTopic: string;
}

const IEEE = /^0x[0-9a-f]{16}$/i;

export const zigbee2mqtt = defineSource<Zigbee2mqttSettings>({
  name: 'zigbee2mqtt',
  description: 'Zigbee devices through zigbee2mqtt',
  configSchema: Zigbee2mqttConfig,
  subscriptions: (c) => [`${c.baseTopic}/#`],
  parse(topic, payload, c): SourceEvent {
    if (!topic.startsWith(`${c.baseTopic}/`)) return { type: 'ignored' };
    const rest = topic.slice(c.baseTopic.length + 1);
    if (payload.length > c.maxMessageBytes) return { type: 'refused', reason: `message of ${payload.length} bytes is over the limit` };
    if (rest === 'bridge/devices') return inventory(payload);
    if (rest.startsWith('bridge/')) return { type: 'ignored' };
    if (rest.endsWith('/availability')) {
      const name = rest.slice(0, -'/availability'.length);
      const text = payload.toString('utf8').trim();
      const state = text === 'online' || text === 'offline' ? text : parseJson(payload)?.state;
      if (state !== 'online' && state !== 'offline')
        return { type: 'refused', externalId: name, reason: 'availability is neither online nor offline' };
      return { type: 'availability', externalId: name, online: state === 'online' };
    }
    // `<name>/set`, `<name>/get` are commands to z2m, not state.
    if (/\/(set|get)(\/.*)?$/.test(rest)) return { type: 'ignored' };
    const json = parseJson(payload);
    if (!json) return { type: 'refused', externalId: rest, reason: 'state is not a JSON object' };
    return { type: 'data', externalId: rest, input: { json } };
  },
  downlink: (externalId, down, c) =>
    down.json ? { topic: `${c.baseTopic}/${externalId}/set`, payload: JSON.stringify(down.json) } : undefined,
});

function inventory(payload: Buffer): SourceEvent {
  let list: unknown;
  try {
    list = JSON.parse(payload.toString('utf8'));
  } catch {
    return { type: 'refused', reason: 'bridge/devices is not JSON' };
  }
  if (!Array.isArray(list)) return { type: 'refused', reason: 'bridge/devices is not a list' };
  const devices = list.flatMap((d: unknown) => {
    const o = d as {
      ieee_address?: unknown;
      friendly_name?: unknown;
      type?: unknown;
      definition?: { model?: unknown; vendor?: unknown; description?: unknown } | null;
    };
    if (typeof o?.ieee_address !== 'string' || !IEEE.test(o.ieee_address) || o.type === 'Coordinator') return [];
    const name = typeof o.friendly_name === 'string' ? o.friendly_name : o.ieee_address;
    const def = o.definition ?? undefined;
    return [
      {
        externalId: name,
        aliases: [o.ieee_address.toLowerCase()],
        ...(typeof def?.model === 'string' ? { model: def.model } : {}),
        ...(typeof def?.vendor === 'string' ? { vendor: def.vendor } : {}),
        ...(typeof def?.description === 'string' ? { description: def.description } : {}),
      },
    ];
  });
  return { type: 'inventory', devices };
}
