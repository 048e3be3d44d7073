/** The detectors by name and their per-camera settings (light to import: config validation uses it). */
export const DETECTOR_NAMES = ['face', 'plate', 'object', 'fire'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface DetectorSettings {
  minScore?: number;
  /** object only: COCO labels reported. */
  labels?: string[];
}

export type DetectorSet = Partial<Record<DetectorName, DetectorSettings>>;
