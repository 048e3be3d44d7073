/** What the on-device detectors' rules raise from tracks (vehicle.watchlist_plate is the capture cameras', shared). */
import type { CategoryTable } from '../../contracts/categories.js';

export const VISION_CATEGORIES: CategoryTable = {
  'fire.video_flame': {
    severity: 'critical',
    deadlineMinutes: 15,
    ackWithinMinutes: 2,
    lane: 0,
    description: 'a camera sees flames (on-device detector; confirm on the evidence picture)',
  },
  'fire.video_smoke': {
    severity: 'major',
    deadlineMinutes: 15,
    ackWithinMinutes: 5,
    lane: 0,
    description: 'a camera sees smoke spreading (on-device detector; confirm on the evidence picture)',
  },
  'person.restricted_zone': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    lane: 2,
    description: 'a person in a restricted zone of a camera, in its restricted hours',
  },
  'person.line_crossing': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    lane: 2,
    description: "a person crossed a camera's alarmed line (a wall, a closed gate) in the alarmed direction and hours",
  },
  'person.loitering': {
    severity: 'minor',
    deadlineMinutes: 60,
    ackWithinMinutes: 15,
    lane: 2,
    description: "a person stayed in a camera's loitering zone longer than its seconds (default 60)",
  },
  'vehicle.no_parking': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 10,
    lane: 2,
    description: "a vehicle stood in a camera's no-parking zone (a fire lane) longer than its seconds (default 300)",
  },
};
