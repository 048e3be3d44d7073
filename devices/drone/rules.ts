import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { KindRuntime, Normalized, RuleContext, RuleOutput } from '../types.js';
import { RTSP_URL } from './codec.js';
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
    ntpServerHost: Type.String({
      minLength: 1,
      maxLength: 253,
      default: 'ntp.aliyun.com',
      description: "the NTP server a dock is told to use when it asks for its config (the site's own, where it has one)",
    }),
    liveStream: Type.Optional(
      Type.Object(
        {
          username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'gridedge' }),
          password: Type.String({
            minLength: 8,
            maxLength: 64,
            pattern: '^[A-Za-z0-9_.~-]+$',
            description: "the dock's RTSP server password the gateway sets (it goes in the dock's URL: letters, digits, _.~-)",
          }),
          port: Type.Integer({ minimum: 1, maximum: 65_535, default: 8554, description: "the dock's RTSP server port" }),
          quality: Type.Integer({
            minimum: 0,
            maximum: 4,
            default: 0,
            description: 'video_quality: 0 auto, 1 smooth, 2 standard, 3 high, 4 ultra-high definition',
          }),
        },
        {
          additionalProperties: false,
          description:
            "a dock's flight task turns on its aircraft's live video (live_start_push, RTSP) for the detectors, and off when it ends",
        },
      ),
    ),
    organization: Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 64, default: 'gridedge' }),
        name: Type.String({ minLength: 1, maxLength: 100, default: 'gridedge site' }),
      },
      { additionalProperties: false, default: {}, description: 'the organisation a dock is told it is bound to' },
    ),
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
    liveVideoId: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9]{1,64}/\\d{1,4}-\\d{1,4}-\\d{1,4}/[a-z]{2,10}-\\d{1,2}$',
        description:
          "a dock's lens to stream while a flight task runs (Cloud API video_id {aircraft sn}/{payload index}/{video type}-0, " +
          'e.g. 1581F6Q8D242100A0001/39-0-7/normal-0); needs kinds.drone.liveStream',
      }),
    ),
  },
  { additionalProperties: false },
);

const VIDEO_KEYS = ['rtsp_url', 'live_url', 'url'];
/** flighttask_progress statuses after which the task is over (Cloud API: wayline flighttask_progress). */
const TASK_OVER = new Set(['ok', 'failed', 'timeout', 'canceled', 'rejected', 'partially_done']);

/**
 * The Cloud API's live_start_push and live_stop_push service calls (thing/product/{dock}/services),
 * RTSP (url_type 2): the dock starts an RTSP server with the username, password and port given and
 * answers with its URL in services_reply `output`, which becomes the dock's video source.
 */
function liveCall(method: 'live_start_push' | 'live_stop_push', videoId: string, live?: Settings['liveStream']): RuleOutput {
  const data =
    method === 'live_stop_push'
      ? { video_id: videoId }
      : {
          url_type: 2,
          url: `userName=${live!.username}&password=${live!.password}&port=${live!.port}`,
          video_id: videoId,
          video_quality: live!.quality,
        };
  return { action: 'send', command: 'services', payload: { tid: randomUUID(), bid: randomUUID(), timestamp: Date.now(), method, data } };
}

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
      const announced = VIDEO_KEYS.map((k) => message.data[k]).find((v): v is string => typeof v === 'string' && RTSP_URL.test(v));
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
    if (message.type === 'event' && message.event === 'hms') {
      // HMS lists what is wrong now: a warning (level 2) opens the incident, a list without one closes it.
      const key = `drone.hms_warning:${id}`;
      const level = Number(message.data.hmsLevel ?? 0);
      if (level >= 2 && !ctx.state.hms) {
        ctx.state.hms = true;
        out.push({
          action: 'raise',
          category: 'drone.hms_warning',
          correlationKey: key,
          occurredAt: message.ts,
          facts: { level, codes: String(message.data.hmsCodes ?? ''), count: Number(message.data.hmsCount ?? 0) },
        });
      } else if (level < 2 && ctx.state.hms) {
        ctx.state.hms = false;
        out.push({ action: 'resolve', correlationKey: key, occurredAt: message.ts, reason: 'no HMS warning any more' });
      }
    }
    if (message.type === 'event' && message.event === 'flighttask_progress') {
      const status = message.data.taskStatus;
      // The aircraft's lens goes live for the detectors while its task flies, and off after.
      const videoId = (ctx.options as { liveVideoId?: string }).liveVideoId;
      if (videoId && settings.liveStream && status === 'in_progress' && !ctx.state.live) {
        ctx.state.live = true;
        out.push(liveCall('live_start_push', videoId, settings.liveStream));
      } else if (videoId && ctx.state.live && typeof status === 'string' && TASK_OVER.has(status)) {
        ctx.state.live = false;
        ctx.state.video = undefined;
        out.push(liveCall('live_stop_push', videoId), { action: 'video_source' });
      }
      if (status === 'failed' || status === 'timeout')
        out.push({
          action: 'raise',
          category: 'drone.task_failed',
          correlationKey: `drone.task_failed:${id}:${String(message.data.flightId ?? 'unknown')}`,
          occurredAt: message.ts,
          facts: { status, flightId: String(message.data.flightId ?? ''), percent: Number(message.data.taskPercent ?? 0) },
        });
    }
    // The protocol asks for an answer echoing tid and bid: events with need_reply, topology updates, requests.
    if (message.type === 'event' && message.data.needReply === true) {
      const channel = message.data.channel;
      const command = channel === 'status' ? 'status_reply' : channel === 'requests' ? 'requests_reply' : 'events_reply';
      const data = channel === 'requests' ? answerRequest(message.event, settings, id) : { result: 0 };
      out.push({
        action: 'send',
        command,
        payload: { tid: message.data.tid, bid: message.data.bid, timestamp: Date.now(), method: message.event, data },
      });
    }
    return out;
  };
}

export function start(settings: Settings): KindRuntime {
  return { rules: droneRules(settings) };
}

/**
 * The Cloud API's device requests (thing/product/{sn}/requests) a dock sends on its own: its
 * config (the NTP server it should use), and the organisation binding a DJI dock asks about
 * before it works for a platform. The gateway is the dock's platform: the dock is bound to the
 * site's organisation. Anything else is answered with a non-zero result, as "not supported".
 */
function answerRequest(method: string, settings: Settings, sn: string): Record<string, unknown> {
  switch (method) {
    case 'config':
      return { result: 0, output: { ntp_server_host: settings.ntpServerHost } };
    case 'airport_bind_status':
      return {
        result: 0,
        output: {
          bind_status: [
            {
              sn,
              is_device_bind_organization: true,
              organization_id: settings.organization.id,
              organization_name: settings.organization.name,
              device_callsign: sn,
            },
          ],
        },
      };
    case 'airport_organization_get':
      return { result: 0, output: { organization_name: settings.organization.name } };
    case 'airport_organization_bind':
      return { result: 0, output: { err_infos: [] } };
    default:
      return { result: 1 };
  }
}
