/** Which detectors run on a camera and with what thresholds: the part of the config a worker needs. */
import { FaceDetector } from '../face/blazeface.js';
import { FireDetector } from '../fire/fire.js';
import { ObjectDetector } from '../object/centernet.js';
import { PlateDetector } from '../plate/plate.js';
import { YoloDetector } from '../yolo/yolo.js';
import type { Detector } from '../types.js';

import type { DetectorName, DetectorSettings } from './names.js';

export { DETECTOR_NAMES, type DetectorName, type DetectorSet, type DetectorSettings } from './names.js';

export function makeDetector(name: DetectorName, s: DetectorSettings = {}): Detector {
  const score = s.minScore !== undefined ? { minScore: s.minScore } : {};
  if (name === 'face') return new FaceDetector(score);
  if (name === 'plate') return new PlateDetector(score);
  if (name === 'object') return new ObjectDetector({ ...score, ...(s.labels ? { labels: s.labels } : {}) });
  if (name === 'yolo') {
    if (!s.model || !s.labels) throw new Error('the yolo detector needs model and labels');
    return new YoloDetector({ model: s.model, labels: s.labels, ...score, ...(s.layout ? { layout: s.layout } : {}) });
  }
  return new FireDetector(score);
}
