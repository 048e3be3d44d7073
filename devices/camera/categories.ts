import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'camera.tamper': {
    severity: 'major',
    deadlineMinutes: 120,
    ackWithinMinutes: 10,
    lane: 3,
    description: 'a camera reports tampering (covered, turned away, defocused)',
  },
  'camera.video_lost': {
    severity: 'minor',
    deadlineMinutes: 24 * 60,
    ackWithinMinutes: 60,
    lane: 3,
    description: 'a camera stream stopped delivering frames',
  },
};
