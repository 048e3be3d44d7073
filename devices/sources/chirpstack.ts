/**
 * ChirpStack v4's MQTT integration (its documentation, "MQTT integration", JSON encoding):
 * uplinks on `application/{applicationId}/device/{devEui}/event/up` carry `deviceInfo`
 * (`devEui`, `deviceName`, `applicationId`), `fCnt`, `fPort`, `data` (the frame's payload,
 * base64) and `time`; `…/event/{join,status,ack,txack,log}` are the device's other events; a
 * downlink is `{"devEui","confirmed","fPort","data"}` published on
 * `application/{applicationId}/device/{devEui}/command/down`. Devices are named by DevEUI
 * (16 hex digits).
 */
import { Type } from '@sinclair/typebox';
import { type BrokerSettings, brokerSettings, defineSource, parseJson, type SourceEvent } from './types.js';

export const ChirpstackConfig = Type.Object(
  {
    ...brokerSettings('chirpstack', "ChirpStack's MQTT integration publishes to"),
    applicationId: Type.String({
      pattern: '^([0-9a-fA-F-]{36}|\\+)$',
      default: '+',
      description: 'the application (UUID) whose devices are read, or + for every one',
    }),
    topicPrefix: Type.String({ pattern: '^[^#+\\s]*$', default: '', description: "ChirpStack's [integration.mqtt] topic prefix, if set" }),
  },
  { additionalProperties: false },
);
export interface ChirpstackSettings extends BrokerSettings {
  applicationId: string;
  topicPrefix: string;
}

const DEV_EUI = /^[0-9a-f]{16}$/;

function prefix(c: ChirpstackSettings): string {
  return c.topicPrefix ? `${c.topicPrefix.replace(/\/$/, '')}/` : '';
}

export const chirpstack = defineSource<ChirpstackSettings>({
  name: 'chirpstack',
  description: 'LoRaWAN devices through a ChirpStack v4 network server',
  configSchema: ChirpstackConfig,
  subscriptions: (c) => [`${prefix(c)}application/${c.applicationId}/device/+/event/up`],
  parse(topic, payload, c): SourceEvent {
    const m = new RegExp(`^${escapeRegExp(prefix(c))}application/([^/]+)/device/([^/]+)/event/up$`).exec(topic);
    if (!m) return { type: 'ignored' };
    const devEui = m[2]!.toLowerCase();
    if (!DEV_EUI.test(devEui)) return { type: 'refused', reason: `topic names ${m[2]!.slice(0, 32)}, not a DevEUI` };
    if (payload.length > c.maxMessageBytes)
      return { type: 'refused', externalId: devEui, reason: `message of ${payload.length} bytes is over the limit` };
    const up = parseJson(payload);
    if (!up) return { type: 'refused', externalId: devEui, reason: 'uplink is not a JSON object' };
    const info = up.deviceInfo as { devEui?: unknown } | undefined;
    // The topic and the body must name the same device: a publisher cannot speak for another through the body.
    if (typeof info?.devEui === 'string' && info.devEui.toLowerCase() !== devEui)
      return { type: 'refused', externalId: devEui, reason: 'deviceInfo.devEui differs from the topic' };
    if (typeof up.data !== 'string') return { type: 'refused', externalId: devEui, reason: 'uplink has no data (an empty frame)' };
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(up.data)) return { type: 'refused', externalId: devEui, reason: 'data is not base64' };
    const fPort = typeof up.fPort === 'number' && Number.isInteger(up.fPort) ? up.fPort : undefined;
    const time = typeof up.time === 'string' ? Date.parse(up.time) : Number.NaN;
    return {
      type: 'data',
      externalId: devEui,
      route: m[1]!,
      input: {
        bytes: Buffer.from(up.data, 'base64'),
        ...(fPort !== undefined ? { fPort } : {}),
        ...(Number.isNaN(time) ? {} : { ts: time }),
      },
    };
  },
  // The application comes from the device's last uplink when the config reads every one (+).
  downlink: (externalId, down, c, route) =>
    down.bytes && down.fPort && (route ?? c.applicationId) !== '+'
      ? {
          topic: `${prefix(c)}application/${route ?? c.applicationId}/device/${externalId}/command/down`,
          payload: JSON.stringify({ devEui: externalId, confirmed: true, fPort: down.fPort, data: down.bytes.toString('base64') }),
        }
      : undefined,
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
