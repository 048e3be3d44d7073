import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { createRules, OptionsSchema, SettingsSchema, type Settings } from './rules.js';

export const gasSensor: DeviceKind = {
  kind: 'gas-sensor',
  description: 'Combustible gas detector (LPG or natural gas, %LEL) for kitchens and homes, optionally driving a shut-off valve',
  categories: CATEGORIES,
  publishes: {
    telemetry: 'dev/{id}/telemetry',
    event: 'dev/{id}/event',
    status: 'dev/{id}/status',
    reply: 'dev/{id}/cmd_reply',
  },
  commands: { cmd: 'dev/{id}/cmd' },
  heartbeatSeconds: 60,
  settingsSchema: SettingsSchema,
  optionsSchema: OptionsSchema,
  decode,
  start: (settings) => ({ rules: createRules(settings as Settings) }),
};
