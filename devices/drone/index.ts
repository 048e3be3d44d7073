import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { OptionsSchema, SettingsSchema, start, type Settings } from './rules.js';

/** Drones and docks in the DJI Cloud API style; the device id is the gateway/dock serial number. */
export const drone: DeviceKind = {
  kind: 'drone',
  description: 'Patrol drone or dock speaking the DJI Cloud API style (thing/product/{sn}/…)',
  categories: CATEGORIES,
  publishes: {
    osd: 'thing/product/{id}/osd',
    state: 'thing/product/{id}/state',
    events: 'thing/product/{id}/events',
    services_reply: 'thing/product/{id}/services_reply',
    requests: 'thing/product/{id}/requests',
    status: 'sys/product/{id}/status',
  },
  commands: {
    services: 'thing/product/{id}/services',
    requests_reply: 'thing/product/{id}/requests_reply',
    events_reply: 'thing/product/{id}/events_reply',
    status_reply: 'sys/product/{id}/status_reply',
  },
  heartbeatSeconds: 10,
  offlineCategory: 'drone.link_lost',
  settingsSchema: SettingsSchema,
  optionsSchema: OptionsSchema,
  decode,
  start: (settings) => start(settings as Settings),
};
