/**
 * What a plate means to the community: on the blocklist (police or property watchlist), a muck
 * truck allowed only in certain hours, a resident, or a visitor.
 */
import { Type, type Static } from '@sinclair/typebox';
import { normalizePlate } from './plates.js';

const Plate = Type.String({ minLength: 2, maxLength: 16, description: 'plate text; separators (· - . spaces) are ignored' });
const Hours = Type.String({
  pattern: '^([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-3]):[0-5]\\d$',
  description: 'HH:MM-HH:MM local time; may wrap past midnight (22:00-06:00)',
});

export const WatchlistSchema = Type.Object(
  {
    blocklist: Type.Array(Type.Object({ plate: Plate, reason: Type.String({ maxLength: 200 }) }, { additionalProperties: false }), {
      default: [],
    }),
    muckTrucks: Type.Array(
      Type.Object(
        { plate: Plate, allowedHours: Hours, company: Type.Optional(Type.String({ maxLength: 200 })) },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    residents: Type.Array(Plate, { default: [], description: 'plates of residents; any other plate is a visitor' }),
    timezone: Type.Optional(
      Type.String({ minLength: 1, description: 'IANA time zone the allowed hours are in (default gateway.timezone)' }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type WatchlistSettings = Static<typeof WatchlistSchema>;

export type Verdict =
  | { kind: 'blocked'; reason: string }
  | { kind: 'muck_off_hours'; allowedHours: string; localTime: string; company?: string };

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Whether local time `t` (HH:MM) falls in `window` (HH:MM-HH:MM, possibly across midnight). */
export function within(t: string, window: string): boolean {
  const [from, to] = window.split('-') as [string, string];
  const now = minutes(t);
  const a = minutes(from);
  const b = minutes(to);
  return a <= b ? now >= a && now < b : now >= a || now < b;
}

export class Watchlists {
  private readonly blocked = new Map<string, string>();
  private readonly muck = new Map<string, { allowedHours: string; company?: string }>();
  private readonly residents: Set<string>;
  private readonly clock: Intl.DateTimeFormat;

  constructor(settings: WatchlistSettings, siteTimezone: string) {
    for (const b of settings.blocklist) this.blocked.set(normalizePlate(b.plate), b.reason);
    for (const m of settings.muckTrucks)
      this.muck.set(normalizePlate(m.plate), { allowedHours: m.allowedHours, ...(m.company ? { company: m.company } : {}) });
    this.residents = new Set(settings.residents.map(normalizePlate));
    this.clock = new Intl.DateTimeFormat('en-GB', {
      timeZone: settings.timezone ?? siteTimezone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  }

  localTime(ms: number): string {
    return this.clock.format(new Date(ms));
  }

  isResident(plate: string): boolean {
    return this.residents.has(plate);
  }

  verdicts(plate: string, at: number): Verdict[] {
    const out: Verdict[] = [];
    const reason = this.blocked.get(plate);
    if (reason !== undefined) out.push({ kind: 'blocked', reason });
    const truck = this.muck.get(plate);
    if (truck) {
      const localTime = this.localTime(at);
      if (!within(localTime, truck.allowedHours))
        out.push({
          kind: 'muck_off_hours',
          allowedHours: truck.allowedHours,
          localTime,
          ...(truck.company ? { company: truck.company } : {}),
        });
    }
    return out;
  }
}
