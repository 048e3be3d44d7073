/**
 * The gateway subscribing to a lower GA/T 1400 system (a district 视图库, an NVR platform) for
 * what it collects (kinds.capture-camera.subscribe): `POST /VIID/Subscribes` on the lower system
 * with one SubscribeObject per subscription, its `ReceiveAddr` the gateway's own
 * `/VIID/SubscribeNotifications`, signed in with HTTP Digest as the gateway's VIIDServerID. The
 * lower system then posts SubscribeNotifications, which the gateway reads like any upload from
 * that system (viid.ts), its objects through the same rules.
 *
 * SubscribeDetail (订阅类别) codes: 11 persons, 12 faces, 13 motor vehicles, 14 non-motor
 * vehicles. A subscription runs from its BeginTime to its EndTime (`hours` from when it is made);
 * the gateway subscribes again before it ends, and retries a refused or unanswered one with
 * backoff (up to 5 minutes), counting and logging why without the password.
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { localTime } from './viid.js';
import { ViidHttpClient, viidStatus } from './viid-client.js';

export const SUBSCRIBE_DETAILS = { persons: '11', faces: '12', vehicles: '13', nonMotorVehicles: '14' } as const;

export const SubscriptionSchema = Type.Object(
  {
    system: Type.String({ pattern: '^\\d{20}$', description: "the lower system's DeviceID (a capture-camera device of this gateway)" }),
    url: Type.String({ pattern: '^https?://[^\\s]+$', description: "the lower system's GA/T 1400 address, http(s)://host[:port]" }),
    password: Type.String({ minLength: 1, maxLength: 256, description: 'the Digest password the lower system gave this gateway' }),
    receiveAddr: Type.String({
      pattern: '^https?://[^\\s]+/VIID/SubscribeNotifications$',
      description: "where it sends its notifications: this gateway's API as it reaches it, …/VIID/SubscribeNotifications",
    }),
    details: Type.Array(StringEnum(['persons', 'faces', 'vehicles', 'nonMotorVehicles'] as const), {
      minItems: 1,
      uniqueItems: true,
      default: ['faces', 'vehicles'],
      description: 'what to subscribe to: persons, faces, vehicles, nonMotorVehicles',
    }),
    hours: Type.Number({
      minimum: 1,
      maximum: 24 * 365,
      default: 24,
      description: 'how long each subscription runs; renewed before it ends',
    }),
  },
  { additionalProperties: false },
);
export type Subscription = Static<typeof SubscriptionSchema>;

export interface SubscriberLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SubscriptionState {
  system: string;
  subscribeId: string;
  active: boolean;
  until?: string;
  lastError?: string;
}

export class ViidSubscriber {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  readonly states: SubscriptionState[] = [];

  constructor(
    private readonly serverId: string,
    private readonly subscriptions: readonly Subscription[],
    private readonly log: SubscriberLog,
  ) {}

  start(): void {
    this.stopped = false;
    this.subscriptions.forEach((s, i) => {
      const state: SubscriptionState = { system: s.system, subscribeId: subscribeId(this.serverId, s, i), active: false };
      this.states.push(state);
      void this.subscribe(s, state, 1000);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, f: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private async subscribe(s: Subscription, state: SubscriptionState, retryMs: number): Promise<void> {
    const now = Date.now();
    const until = now + s.hours * 3600_000;
    const body = {
      SubscribeListObject: {
        SubscribeObject: [
          {
            SubscribeID: state.subscribeId,
            Title: `gridedge ${this.serverId} ${s.details.join(' ')}`,
            SubscribeDetail: s.details.map((d) => SUBSCRIBE_DETAILS[d]).join(','),
            ResourceURI: s.system,
            ApplicantName: 'gridedge',
            ApplicantOrg: this.serverId,
            BeginTime: localTime(now),
            EndTime: localTime(until),
            ReceiveAddr: s.receiveAddr,
            OperateType: 0,
            SubscribeStatus: 0,
          },
        ],
      },
    };
    try {
      const r = await new ViidHttpClient(s.url, this.serverId, s.password).post('/VIID/Subscribes', body);
      const st = viidStatus(r.body);
      if (r.status === 401) throw new Error('the lower system refused the credentials');
      if (r.status !== 200 || st.code !== 0) throw new Error(`HTTP ${r.status}, StatusCode ${st.code ?? '?'}: ${st.text ?? 'no status'}`);
      Object.assign(state, { active: true, until: new Date(until).toISOString(), lastError: undefined });
      this.log.info({ system: s.system, subscribeId: state.subscribeId, until: state.until }, 'subscribed to the lower GA/T 1400 system');
      // Renewed at nine tenths of its time, so it never lapses.
      this.later(s.hours * 3600_000 * 0.9, () => void this.subscribe(s, state, 1000));
    } catch (err) {
      Object.assign(state, { active: false, lastError: (err as Error).message });
      this.log.warn({ system: s.system, err: state.lastError, retryInMs: retryMs }, 'cannot subscribe to the lower GA/T 1400 system');
      this.later(retryMs, () => void this.subscribe(s, state, Math.min(retryMs * 2, 300_000)));
    }
  }
}

/** A stable SubscribeID: the gateway's VIIDServerID, 02, and a serial from the subscription itself (GA/T 1400's 33-character layout). */
function subscribeId(serverId: string, s: Subscription, i: number): string {
  const serial = createHash('sha1').update(`${s.system}|${s.url}|${i}`).digest().readUInt32BE(0) % 100_000_000_000;
  return `${serverId}02${String(serial).padStart(11, '0')}`;
}
