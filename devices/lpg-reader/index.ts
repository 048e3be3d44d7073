import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { OptionsSchema, SettingsSchema, start, type Settings } from './rules.js';

export const lpgReader: DeviceKind = {
  kind: 'lpg-reader',
  description: 'LPG cylinder e-tag reader with scale, at filling stations and on delivery',
  categories: CATEGORIES,
  publishes: {
    scan: 'dev/{id}/scan',
    heartbeat: 'dev/{id}/heartbeat',
    event: 'dev/{id}/event',
    status: 'dev/{id}/status',
  },
  commands: { cmd: 'dev/{id}/cmd' },
  heartbeatSeconds: 120,
  settingsSchema: SettingsSchema,
  exampleOptions: { station: 'ST-A' },
  optionsSchema: OptionsSchema,
  decode,
  start: (settings, ctx) => start(settings as Settings, ctx),
};
