import { Type, type Static } from '@sinclair/typebox';
import type { KindRuntime, Normalized, RuleContext, RuleOutput } from '../types.js';
import { breach, type Fence } from './geo.js';

const LatLon = Type.Tuple([
  Type.Number({ minimum: -90, maximum: 90, description: 'latitude' }),
  Type.Number({ minimum: -180, maximum: 180, description: 'longitude' }),
]);

export const SettingsSchema = Type.Object(
  {
    geofences: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
          type: Type.Unsafe<'allowed' | 'no_fly'>({
            type: 'string',
            enum: ['allowed', 'no_fly'],
            description: 'allowed: the patrol area; no_fly: a zone to keep out of',
          }),
          polygon: Type.Array(LatLon, { minItems: 3, description: 'at least three [lat, lon] vertices' }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'patrol areas and no-fly zones' },
    ),
    lowBatteryPercent: Type.Number({
      minimum: 1,
      maximum: 90,
      default: 25,
      description: 'battery % below which drone.low_battery is raised',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type Settings = Static<typeof SettingsSchema>;

/** Percentage points a battery must climb back above the threshold before the alert clears. */
const BATTERY_HYSTERESIS = 5;

export const OptionsSchema = Type.Object(
  {
    videoUrl: Type.Optional(
      Type.String({ pattern: '^rtsps?://\\S+$', description: "the drone's live video, rtsp://… (when it does not announce one)" }),
    ),
  },
  { additionalProperties: false },
);

const VIDEO_KEYS = ['rtsp_url', 'live_url', 'url'];

export function droneRules(settings: Settings) {
  const fences = settings.geofences as Fence[];
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    const id = ctx.device.id;
    const out: RuleOutput[] = [];
    // Video: what the drone announces wins over the configured URL; either becomes a video source.
    const configured = (ctx.options as { videoUrl?: string }).videoUrl;
    if (configured && !ctx.state.video) {
      ctx.state.video = configured;
      out.push({ action: 'video_source', url: configured });
    }
    if (message.type === 'event') {
      const announced = VIDEO_KEYS.map((k) => message.data[k]).find(
        (v): v is string => typeof v === 'string' && /^rtsps?:\/\/\S+$/.test(v),
      );
      if (announced && announced !== ctx.state.video) {
        ctx.state.video = announced;
        out.push({ action: 'video_source', url: announced });
      }
    }
    if (message.type === 'reading') {
      const { lat, lon, battery, height } = message.fields;
      if (typeof lat === 'number' && typeof lon === 'number' && fences.length) {
        const b = breach(lat, lon, fences);
        const key = `drone.geofence_breach:${id}`;
        if (b && !ctx.state.breach) {
          out.push({
            action: 'raise',
            category: 'drone.geofence_breach',
            correlationKey: key,
            occurredAt: message.ts,
            facts: { lat, lon, fence: b.fence, reason: b.reason, ...(typeof height === 'number' ? { height } : {}) },
          });
        } else if (!b && ctx.state.breach) {
          out.push({ action: 'resolve', correlationKey: key, occurredAt: message.ts, reason: 'back inside its permitted area' });
        }
        ctx.state.breach = Boolean(b);
      }
      if (typeof battery === 'number') {
        const key = `drone.low_battery:${id}`;
        if (!ctx.state.lowBattery && battery < settings.lowBatteryPercent) {
          ctx.state.lowBattery = true;
          out.push({
            action: 'raise',
            category: 'drone.low_battery',
            correlationKey: key,
            occurredAt: message.ts,
            facts: { battery, threshold: settings.lowBatteryPercent },
          });
        } else if (ctx.state.lowBattery && battery >= settings.lowBatteryPercent + BATTERY_HYSTERESIS) {
          ctx.state.lowBattery = false;
          out.push({ action: 'resolve', correlationKey: key, occurredAt: message.ts, reason: `battery back at ${battery}%` });
        }
      }
      return out;
    }
    // The protocol asks for an answer echoing tid and bid: events with need_reply, and topology updates.
    if (message.type === 'event' && message.data.needReply === true) {
      const command = message.data.channel === 'status' ? 'status_reply' : 'events_reply';
      out.push({
        action: 'send',
        command,
        payload: { tid: message.data.tid, bid: message.data.bid, timestamp: Date.now(), method: message.event, data: { result: 0 } },
      });
    }
    return out;
  };
}

export function start(settings: Settings): KindRuntime {
  return { rules: droneRules(settings) };
}
