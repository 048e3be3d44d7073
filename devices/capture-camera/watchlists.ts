/**
 * What a plate means to the community: on the blocklist (police or property watchlist), a muck
 * truck allowed only in certain hours, a resident, or a visitor.
 */
import { SubscriptionSchema } from './viid-subscriber.js';
import { Type, type Static } from '@sinclair/typebox';
import type { FieldValue } from '../types.js';
import { normalizePlate, plateType } from '../../contracts/plate.js';
import { LocalHours } from '../../core/schema.js';

const Plate = Type.String({ minLength: 2, maxLength: 16, description: 'plate text; separators (· - . spaces) are ignored' });
const Hours = LocalHours('HH:MM-HH:MM local time; may wrap past midnight (22:00-06:00)');

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
    subscribe: Type.Array(SubscriptionSchema, {
      default: [],
      maxItems: 64,
      description: 'lower GA/T 1400 systems this gateway subscribes to (POST /VIID/Subscribes); they send SubscribeNotifications back',
    }),
    fetchStoragePath: Type.Boolean({
      default: false,
      description: 'GA/T 1400 sub-images given only by StoragePath (a URL on the sender) are fetched; off, they are refused as pictureless',
    }),
    viidServerId: Type.String({
      pattern: '^\\d{20}$',
      default: '00000000005030000001',
      description:
        "the gateway's VIIDServerID in GA/T 1400 answers: 8 digits of the administrative division, 2 of the trade, 503 (视图库), 7 of its own",
    }),
    fuzzy: Type.Object(
      {
        blocklist: Type.Integer({
          minimum: 0,
          maximum: 2,
          default: 1,
          description: 'OCR confusions (8/B, 0/D, 2/Z …) a blocklist match may have',
        }),
        muckTrucks: Type.Integer({ minimum: 0, maximum: 2, default: 1, description: 'OCR confusions a muck-truck match may have' }),
        residents: Type.Integer({
          minimum: 0,
          maximum: 2,
          default: 0,
          description: 'OCR confusions a resident match may have (exact by default)',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'per list, how many characters a read may differ by when each difference is a pair OCR confuses',
      },
    ),
    timezone: Type.Optional(
      Type.String({ minLength: 1, description: 'IANA time zone the allowed hours are in (default gateway.timezone)' }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type WatchlistSettings = Static<typeof WatchlistSchema>;

/** How a read plate matched a listed one: exactly, or through OCR confusions (each `read/listed`). */
export interface PlateMatch {
  listed: string;
  confusions: string[];
}

export type Verdict =
  | ({ kind: 'blocked'; reason: string } & PlateMatch)
  | ({ kind: 'muck_off_hours'; allowedHours: string; localTime: string; company?: string } & PlateMatch);

/**
 * Characters plate OCR mistakes for one another (each way): the letters I and O never appear on
 * a Chinese plate (GA 36), so a read I or O is a 1 or a 0; the rest are look-alikes in the plate
 * fonts. A difference outside these pairs is another plate.
 */
const CONFUSABLE: ReadonlyArray<readonly [string, string]> = [
  ['8', 'B'],
  ['0', 'D'],
  ['0', 'Q'],
  ['0', 'O'],
  ['1', 'I'],
  ['2', 'Z'],
  ['5', 'S'],
  ['6', 'G'],
  ['7', 'T'],
  ['4', 'A'],
];
const PAIRS = new Set(CONFUSABLE.flatMap(([a, b]) => [`${a}${b}`, `${b}${a}`]));

/**
 * The OCR confusions between a read and a listed plate of the same length, or undefined when
 * they differ otherwise (another province character, another length, any other substitution)
 * or by more than `max`.
 */
export function confusions(read: string, listed: string, max: number): string[] | undefined {
  if (read.length !== listed.length || read[0] !== listed[0]) return undefined;
  const out: string[] = [];
  for (let i = 1; i < read.length; i++) {
    if (read[i] === listed[i]) continue;
    if (!PAIRS.has(`${read[i]}${listed[i]}`)) return undefined;
    out.push(`${read[i]}/${listed[i]}`);
    if (out.length > max) return undefined;
  }
  return out;
}

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
  private readonly fuzzy: WatchlistSettings['fuzzy'];

  constructor(settings: Omit<WatchlistSettings, 'viidServerId' | 'subscribe' | 'fetchStoragePath'>, siteTimezone: string) {
    this.fuzzy = settings.fuzzy ?? { blocklist: 1, muckTrucks: 1, residents: 0 };
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
    return this.residents.has(plate) || (this.fuzzy.residents > 0 && find([...this.residents], plate, this.fuzzy.residents) !== undefined);
  }

  verdicts(plate: string, at: number): Verdict[] {
    const out: Verdict[] = [];
    const b = lookup(this.blocked, plate, this.fuzzy.blocklist);
    if (b) out.push({ kind: 'blocked', reason: b.value, listed: b.listed, confusions: b.confusions });
    const m = lookup(this.muck, plate, this.fuzzy.muckTrucks);
    if (m) {
      const localTime = this.localTime(at);
      if (!within(localTime, m.value.allowedHours))
        out.push({
          kind: 'muck_off_hours',
          allowedHours: m.value.allowedHours,
          localTime,
          ...(m.value.company ? { company: m.value.company } : {}),
          listed: m.listed,
          confusions: m.confusions,
        });
    }
    return out;
  }
}

/** The listed plate a read matches, exactly first, else the one with the fewest OCR confusions. */
function find(listed: string[], read: string, max: number): PlateMatch | undefined {
  let best: PlateMatch | undefined;
  for (const l of listed) {
    const c = confusions(read, l, max);
    if (c && (!best || c.length < best.confusions.length)) best = { listed: l, confusions: c };
  }
  return best;
}

function lookup<V>(list: ReadonlyMap<string, V>, read: string, max: number): (PlateMatch & { value: V }) | undefined {
  const exact = list.get(read);
  if (exact !== undefined) return { listed: read, confusions: [], value: exact };
  if (max === 0) return undefined;
  const m = find([...list.keys()], read, max);
  return m ? { ...m, value: list.get(m.listed)! } : undefined;
}

/** What an incident says of a fuzzy match: the listed plate and the confusions (none for an exact one). */
export function matchFacts(v: PlateMatch): Record<string, string> {
  return v.confusions.length ? { listedPlate: v.listed, ocrConfusions: v.confusions.join(' '), match: 'fuzzy' } : { match: 'exact' };
}

/**
 * The incident a verdict raises, whoever read the plate (a capture camera's message, its own
 * analytics, the gateway's detector): its category, keyed by the listed plate (one vehicle,
 * however it was read), and the verdict's facts over the reader's `base` facts.
 */
export function plateIncident(
  v: Verdict,
  base: Record<string, FieldValue>,
): { category: 'vehicle.watchlist_plate' | 'vehicle.muck_truck_off_hours'; correlationKey: string; facts: Record<string, FieldValue> } {
  const category = v.kind === 'blocked' ? 'vehicle.watchlist_plate' : 'vehicle.muck_truck_off_hours';
  const type = typeof base.plate === 'string' ? plateType(base.plate, base.plateColor as string | undefined) : undefined;
  const withType = type ? { ...base, plateType: type } : base;
  const facts =
    v.kind === 'blocked'
      ? { ...withType, reason: v.reason, ...matchFacts(v) }
      : {
          ...withType,
          allowedHours: v.allowedHours,
          localTime: v.localTime,
          ...(v.company ? { company: v.company } : {}),
          ...matchFacts(v),
        };
  return { category, correlationKey: `${category}:${v.listed}`, facts };
}
