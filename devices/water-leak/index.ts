import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { createRules, SettingsSchema, type Settings } from './rules.js';

export const waterLeak: DeviceKind = {
  kind: 'water-leak',
  description: 'Water leak sensor (pump rooms, basements, meter wells) speaking gridedge JSON, or through zigbee2mqtt',
  categories: CATEGORIES,
  publishes: {
    telemetry: 'dev/{id}/telemetry',
    event: 'dev/{id}/event',
    status: 'dev/{id}/status',
  },
  commands: { cmd: 'dev/{id}/cmd' },
  heartbeatSeconds: 3600,
  settingsSchema: SettingsSchema,
  decode,
  start: (settings) => ({ rules: createRules(settings as Settings) }),
};
