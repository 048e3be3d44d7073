import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'vehicle.watchlist_plate': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    lane: 2,
    description: 'a vehicle on the blocklist passed a camera',
  },
  'vehicle.muck_truck_off_hours': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 2,
    description: 'a muck truck passed outside its allowed hours',
  },
};
