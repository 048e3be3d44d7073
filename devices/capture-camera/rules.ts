import type { KindContext, KindRuntime, Normalized, RuleContext, RuleOutput } from '../types.js';
import { isPlate } from './plates.js';
import { viidRoutes } from './viid.js';
import { matchFacts, Watchlists, type WatchlistSettings } from './watchlists.js';

/**
 * A plate capture is checked against the watchlists: a blocked plate raises
 * `vehicle.watchlist_plate`, a muck truck outside its allowed hours `vehicle.muck_truck_off_hours`,
 * each with the capture as evidence. Every pass is recorded as a resident's or a visitor's.
 */
export function captureRules(lists: Watchlists) {
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    if (message.type !== 'capture' || message.subject !== 'plate' || !message.plate) return [];
    const plate = message.plate;
    const resident = lists.isResident(plate);
    const out: RuleOutput[] = [
      {
        action: 'record',
        measurement: 'vehicle_pass',
        tags: { class: resident ? 'resident' : 'visitor' },
        fields: {
          plate,
          plate_valid: isPlate(plate),
          ...(message.direction ? { direction: message.direction } : {}),
          ...(message.sha256 ? { sha256: message.sha256 } : {}),
        },
        ts: message.ts,
      },
    ];
    const evidence = [{ bytes: message.image, class: 'plate' as const, mime: message.mime }];
    const base = {
      plate,
      camera: ctx.device.id,
      resident,
      ...(message.plateColor ? { plateColor: message.plateColor } : {}),
      ...(message.direction ? { direction: message.direction } : {}),
    };
    for (const v of lists.verdicts(plate, message.ts)) {
      if (v.kind === 'blocked') {
        out.push({
          action: 'raise',
          category: 'vehicle.watchlist_plate',
          correlationKey: `vehicle.watchlist_plate:${v.listed}`, // the listed vehicle, however it was read
          occurredAt: message.ts,
          facts: { ...base, reason: v.reason, ...matchFacts(v) },
          evidence,
        });
      } else {
        out.push({
          action: 'raise',
          category: 'vehicle.muck_truck_off_hours',
          correlationKey: `vehicle.muck_truck_off_hours:${v.listed}`,
          occurredAt: message.ts,
          facts: {
            ...base,
            allowedHours: v.allowedHours,
            localTime: v.localTime,
            ...(v.company ? { company: v.company } : {}),
            ...matchFacts(v),
          },
          evidence,
        });
      }
    }
    return out;
  };
}

export function start(settings: WatchlistSettings, ctx: KindContext): KindRuntime {
  return { rules: captureRules(new Watchlists(settings, ctx.timezone)), routes: viidRoutes(ctx) };
}
