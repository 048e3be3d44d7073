import type { DeviceKind } from '../types.js';
import { CATEGORIES } from './categories.js';
import { decode } from './codec.js';
import { start } from './rules.js';
import { VIID_REALM } from './viid.js';
import { WatchlistSchema, type WatchlistSettings } from './watchlists.js';

export const captureCamera: DeviceKind = {
  kind: 'capture-camera',
  description: 'Smart camera that captures faces and plates itself, over MQTT or GA/T 1400 (视图库) HTTP',
  categories: CATEGORIES,
  publishes: {
    capture: 'dev/{id}/capture',
    heartbeat: 'dev/{id}/heartbeat',
    status: 'dev/{id}/status',
  },
  commands: { cmd: 'dev/{id}/cmd' },
  heartbeatSeconds: 120,
  digestRealm: VIID_REALM,
  settingsSchema: WatchlistSchema,
  decode,
  start: (settings, ctx) => start(settings as WatchlistSettings, ctx),
};
