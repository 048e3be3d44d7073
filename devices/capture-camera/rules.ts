import type { KindContext, KindRuntime, Normalized, RuleContext, RuleOutput } from '../types.js';
import { isPlate, plateType } from '../../contracts/plate.js';
import { viidRoutes } from './viid.js';
import { ViidSubscriber } from './viid-subscriber.js';
import { plateIncident, Watchlists, type WatchlistSettings } from './watchlists.js';

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
    const type = plateType(plate, message.plateColor);
    const out: RuleOutput[] = [
      {
        action: 'record',
        measurement: 'vehicle_pass',
        tags: { class: resident ? 'resident' : 'visitor' },
        fields: {
          plate,
          plate_valid: isPlate(plate),
          ...(type ? { plate_type: type } : {}),
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
    for (const v of lists.verdicts(plate, message.ts))
      out.push({ action: 'raise', ...plateIncident(v, base), occurredAt: message.ts, evidence });
    return out;
  };
}

export function start(settings: WatchlistSettings, ctx: KindContext): KindRuntime {
  const subscriber = settings.subscribe.length ? new ViidSubscriber(settings.viidServerId, settings.subscribe, ctx.log) : undefined;
  subscriber?.start();
  return {
    rules: captureRules(new Watchlists(settings, ctx.timezone)),
    routes: viidRoutes(ctx, settings.viidServerId, { fetchStoragePath: settings.fetchStoragePath }),
    ...(subscriber ? { stop: () => subscriber.stop() } : {}),
  };
}
