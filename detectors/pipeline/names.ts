/** The detectors by name and their per-camera settings (light to import: config validation uses it). */
export const DETECTOR_NAMES = ['face', 'plate', 'object', 'fire', 'yolo'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface DetectorSettings {
  minScore?: number;
  /** object: COCO labels reported; yolo: the model's class names, in order. */
  labels?: string[];
  /** yolo only: the .onnx file (absolute once the config is loaded). */
  model?: string;
  /** yolo only: output layout (default: found from the output's shape). */
  layout?: 'auto' | 'v5' | 'v8';
}

export type DetectorSet = Partial<Record<DetectorName, DetectorSettings>>;
