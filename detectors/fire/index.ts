import { Type } from '@sinclair/typebox';
import { definePlugin, Score } from '../plugin.js';

export const fire = definePlugin({
  name: 'fire',
  description: 'flames and smoke by colour, irregular flicker and spread over the last frames (no model)',
  settingsSchema: Type.Object(
    {
      minScore: Type.Optional(Score),
      confirmFrames: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 100,
          description: "this camera's frames with flames or smoke before fire.video_* is raised (default vision.fireConfirmFrames)",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  models: [],
  create: async (s) => new (await import('./fire.js')).FireDetector(s),
});
