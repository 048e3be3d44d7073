import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { createRules, SettingsSchema, type Settings } from './rules.js';

export const smokeAlarm: DeviceKind = {
  kind: 'smoke-alarm',
  description: 'Networked smoke alarm (NB-IoT/4G/Wi-Fi) speaking gridedge JSON over MQTT',
  categories: CATEGORIES,
  publishes: {
    telemetry: 'dev/{id}/telemetry',
    event: 'dev/{id}/event',
    status: 'dev/{id}/status',
  },
  commands: { cmd: 'dev/{id}/cmd' },
  heartbeatSeconds: 300,
  settingsSchema: SettingsSchema,
  decode,
  start: (settings) => ({ rules: createRules(settings as Settings) }),
};
