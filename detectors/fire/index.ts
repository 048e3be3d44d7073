import { definePlugin, ScoreSettings } from '../plugin.js';

export const fire = definePlugin({
  name: 'fire',
  description: 'flames and smoke by colour, flicker and spread over the last frames (no model)',
  settingsSchema: ScoreSettings,
  models: [],
  create: async (s) => new (await import('./fire.js')).FireDetector(s),
});
