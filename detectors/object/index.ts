import { Type } from '@sinclair/typebox';
import { definePlugin, Score } from '../plugin.js';
import { COCO_LABELS } from './labels.js';

export const object = definePlugin({
  name: 'object',
  description: 'people and vehicles, or any COCO class (CenterNet, converted from tfjs to ONNX here)',
  settingsSchema: Type.Object(
    {
      minScore: Type.Optional(Score),
      labels: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          description: "COCO labels reported (default person, bicycle, car, motorcycle, bus, truck; ['*'] for all)",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  models: [
    {
      name: 'CenterNet COCO (people, vehicles)',
      source: 'npm @vladmandic/human (MIT), tfjs graph converted to ONNX here',
      file: async (log) => (await import('./model.js')).objectModel(log),
    },
  ],
  prepare: (s, { at }) =>
    (s.labels ?? [])
      .filter((l) => l !== '*' && !(COCO_LABELS as readonly string[]).includes(l))
      .map((l) => `${at}.labels: "${l}" is not a COCO label (person, bicycle, car, motorcycle, bus, truck, …)`),
  create: async (s) => new (await import('./centernet.js')).ObjectDetector(s),
});
