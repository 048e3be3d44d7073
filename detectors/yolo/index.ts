import { existsSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { definePlugin, Score } from '../plugin.js';

export const yolo = definePlugin({
  name: 'yolo',
  description: "a deployment's own YOLO model (.onnx, v5 or v8 output layout) with its class names",
  settingsSchema: Type.Object(
    {
      model: Type.String({
        minLength: 1,
        description: "the deployment's YOLO model (.onnx, v5 or v8 output layout), relative to the config file",
      }),
      labels: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 1000,
        description: "the model's class names in order; fire and smoke feed the fire rules",
      }),
      layout: Type.Optional(
        StringEnum<'auto' | 'v5' | 'v8'>(['auto', 'v5', 'v8'], {
          description: 'output layout: auto (from its shape, the default), v5 [1,N,5+C] or v8 [1,4+C,N]',
        }),
      ),
      minScore: Type.Optional(Score),
    },
    { additionalProperties: false },
  ),
  // The model is the deployment's: `gridedge doctor` checks it per camera, not here.
  models: [],
  prepare: (s, { at, baseDir }) => {
    s.model = path.resolve(baseDir, s.model);
    return existsSync(s.model) ? [] : [`${at}.model: ${s.model} does not exist`];
  },
  create: async (s) => new (await import('./yolo.js')).YoloDetector(s),
});
