import type { TSchema } from '@sinclair/typebox';
import type { CategoryTable } from '../contracts/categories.js';
import type { EvidenceClass, Severity } from '../contracts/incident.js';

export type { EvidenceClass, Severity };

/**
 * The contract between the gateway and a device kind. A kind is data plus two functions:
 * `decode` turns one MQTT message into normalized messages, its rules turn one normalized
 * message into incident signals and device actions. Everything else (ACLs, routing, storage,
 * incident life, heartbeats) is derived from it.
 */

export interface GeoPoint {
  lat: number;
  lon: number;
}

/** A device as the gateway knows it from its registry (config file for now). */
export interface DeviceInfo {
  id: string;
  kind: string;
  grid: string;
  name?: string;
  location?: GeoPoint;
}

export type FieldValue = number | boolean | string;

/** A measurement at one instant, written to the time-series store. */
export interface Reading {
  type: 'reading';
  /** Measurement name in the series store, e.g. `smoke_alarm`. */
  measurement: string;
  fields: Record<string, FieldValue>;
  /** Device clock in ms since epoch, when the device sent one we trust; else arrival time. */
  ts: number;
}

/** Something that happened at the device (alarm, clear, fault, ...). */
export interface DeviceEvent {
  type: 'event';
  event: string;
  data: Record<string, FieldValue>;
  ts: number;
}

/** The device says it is online or offline (its own status topic, or its LWT). */
export interface StatusChange {
  type: 'status';
  online: boolean;
  ts: number;
}

/** The device's answer to a command the gateway sent it (matched by id). */
export interface CommandReply {
  type: 'reply';
  id: string;
  ok: boolean;
  detail?: string;
  ts: number;
}

/** A face or plate a smart camera captured, with its image (stored as evidence before anything else). */
export interface Capture {
  type: 'capture';
  subject: 'face' | 'plate' | 'person' | 'vehicle';
  /** The subject's close-up (the crop). */
  image: Buffer;
  mime: string;
  /** The whole scene it was taken in, when the camera sent one (GA/T 1400 场景图, 车辆大图). */
  scene?: { image: Buffer; mime: string };
  /** Normalized plate text (no separators), for plate captures. */
  plate?: string;
  plateColor?: 'blue' | 'yellow' | 'green' | 'white' | 'black' | 'other';
  confidence?: number;
  direction?: 'in' | 'out';
  ts: number;
  /** Set by the gateway once the image is stored. */
  sha256?: string;
}

export type Normalized = Reading | DeviceEvent | StatusChange | CommandReply | Capture;

/** Why a message was refused; counted per device and reason, so keep the set small and stable. */
export type RejectReason =
  | 'malformed_json'
  | 'schema'
  | 'unknown_channel'
  | 'too_large'
  /** The codec or a rule threw: a bug of ours, but still only this message is lost. */
  | 'codec_error';

export type DecodeResult = { ok: true; messages: Normalized[] } | { ok: false; reason: RejectReason; detail: string };

/** An image a rule wants attached to the incident it raises; stored before the incident is. */
export interface EvidenceInput {
  bytes: Buffer;
  class: EvidenceClass;
  mime: string;
  /** The camera that took it, when one did. */
  camera?: string;
  boxes?: Array<{ x: number; y: number; w: number; h: number; label?: string; score?: number }>;
}

/** What a rule asks of the incident manager; the manager owns ids, folding and lifecycle. */
export type IncidentSignal =
  | {
      action: 'raise';
      category: string;
      /** Repeats with the same key fold into one open incident. */
      correlationKey: string;
      occurredAt: number;
      facts: Record<string, FieldValue>;
      evidence?: EvidenceInput[];
      /** Ask the cameras of the device's grid cell for a snapshot to attach (once cameras exist). */
      snapshotOfCell?: boolean;
    }
  | {
      action: 'resolve';
      correlationKey: string;
      occurredAt: number;
      reason: string;
    };

export interface DecodeContext {
  device: DeviceInfo;
  /** Arrival time, used when the payload carries no usable timestamp. */
  receivedAt: number;
}

/** Something a rule asks the gateway to do besides incidents. */
export type DeviceAction =
  | {
      /** Publish to the device on one of its kind's command topics. */
      action: 'send';
      command: string;
      payload: unknown;
      /** Track the device's reply (a `reply` message with this id) and note the outcome on an incident. */
      expectReply?: { id: string; timeoutMs: number; correlationKey: string; fact: string };
    }
  | {
      /** Add facts to an open incident without counting a repeat (e.g. a command's outcome). */
      action: 'annotate';
      correlationKey: string;
      facts: Record<string, FieldValue>;
    }
  | {
      /** The device offers live video here (a drone's stream): the cameras pull frames from video sources. No url: it stopped. */
      action: 'video_source';
      url?: string;
    }
  | {
      /** Write a point the rule derived (e.g. a vehicle pass classed resident or visitor). */
      action: 'record';
      measurement: string;
      fields: Record<string, FieldValue>;
      tags?: Record<string, string>;
      ts: number;
    };

export type RuleOutput = IncidentSignal | DeviceAction;

export interface RuleContext {
  device: DeviceInfo;
  /** Per-device options from the config (`devices[].options`), validated against the kind's schema. */
  options: Record<string, unknown>;
  /**
   * The kind's memory for this device between messages (hysteresis, what is raised). Plain JSON,
   * owned by the gateway, so it could live elsewhere (e.g. shared between two gateway nodes).
   */
  state: Record<string, unknown>;
}

/** A kind's rules, made once per gateway from the kind's settings (`kinds.<kind>` in the config). */
export type Rules = (message: Normalized, ctx: RuleContext) => RuleOutput[];

/** What the gateway offers a kind when it starts. */
export interface KindContext {
  /** The config file's folder: kinds resolve their files (registries, watchlists) against it. */
  baseDir: string;
  /** The site's IANA time zone: calendar dates are compared, and local hours read, in it. */
  timezone: string;
  /**
   * For kinds that also speak HTTP (GA/T 1400 cameras): checks a device's credentials and, if
   * they hold, hands its normalized messages to the same pipeline MQTT messages go through.
   * Resolves once any incident they raised is stored.
   */
  authenticate(deviceId: string, secret: string): Promise<DeviceInfo | undefined>;
  ingest(deviceId: string, messages: Normalized[]): Promise<void>;
  /** Stores an image (content-addressed, with its class's retention); resolves to its sha256. */
  storeEvidence(input: EvidenceInput): Promise<string>;
  /** HA1 = MD5(id:realm:secret) for HTTP Digest (GA/T 1400 devices), or undefined for an unknown device. */
  digestHA1(deviceId: string, realm: string): string | undefined;
  /** Counts and keeps a refused HTTP upload as MQTT refusals are. */
  reject(deviceId: string, channel: string, reason: RejectReason, detail: string, payload: Buffer): void;
  /** The device said it is going away (GA/T 1400 UnRegister): its offline incident now, resolved when it is heard again. */
  signedOff(deviceId: string, reason: string): void;
  /** The kind's own log lines (a subscription made or refused), never with a secret. */
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Who a device route's request comes from, or the answer that refuses it (a Digest challenge). */
export type RouteAuth = { ok: true; user: string } | { ok: false; status: number; body: unknown; headers?: Record<string, string> };

/** Routes a kind adds to the gateway's HTTP server: each handler owns its own authentication. */
export interface HttpRoute {
  method: HttpMethod | HttpMethod[];
  url: string;
  /** Largest request body accepted, bytes. */
  bodyLimit?: number;
  /** Who may call it: devices (the handler checks them), or API tokens of this role. */
  access: 'device' | 'read' | 'operator';
  /**
   * For `device` routes: who is asking, from the request line and headers alone. It runs before
   * the body is read or parsed, so a request without credentials gets its challenge whatever its
   * body (libcurl sends the first try of a Digest exchange with an empty one).
   */
  authenticate?(request: { method: string; url: string; headers: Record<string, string | string[] | undefined> }): RouteAuth;
  /** JSON Schemas for fastify: validation and the OpenAPI document from one place. */
  schema?: { params?: TSchema; body?: TSchema; querystring?: TSchema; response?: Record<number, TSchema> };
  handler(request: {
    /** The device `authenticate` found. */
    user?: string;
    method: string;
    url: string;
    body: unknown;
    params: Record<string, string>;
    headers: Record<string, string | string[] | undefined>;
  }): Promise<{ status: number; body: unknown; headers?: Record<string, string> }>;
}

/** A started kind: its rules, and optionally HTTP routes and a stop. */
export interface KindRuntime {
  rules: Rules;
  routes?: HttpRoute[];
  stop?(): Promise<void> | void;
}

export interface DeviceKind {
  /** Registry key, used in config (`devices[].kind`). */
  kind: string;
  description: string;
  /**
   * The topics this kind publishes, by channel name, with `{id}` standing for the device id.
   * The broker derives each device's publish ACL from these; nothing else may be published.
   */
  publishes: Record<string, string>;
  /**
   * Topics the gateway publishes to the device (commands, replies), by name, with `{id}`; the
   * device may subscribe to exactly these.
   */
  commands: Record<string, string>;
  /** The incident categories its rules raise, besides the gateway's own `device.*` ones. */
  categories: CategoryTable;
  /** Seconds between the messages a healthy device sends; missing three raises `device.offline`. */
  heartbeatSeconds?: number;
  /** The category raised for a silent device of this kind, if not `device.offline` (a drone: `drone.link_lost`). */
  offlineCategory?: string;
  /** The HTTP Digest realm devices of this kind sign in to, if any (provisioning keeps an HA1 for it). */
  digestRealm?: string;
  /** Schema of the kind's deployment settings, `kinds.<kind>` in the config (defaults filled in). */
  settingsSchema?: TSchema;
  /** The options of the device its docs page's examples come from (kinds whose devices need some). */
  exampleOptions?: Record<string, unknown>;
  /** Schema of `devices[].options` for devices of this kind. */
  optionsSchema?: TSchema;
  /** One MQTT message on one of `publishes`' channels into normalized messages, or a rejection. */
  decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult;
  /** Starts the kind once per gateway from its validated settings (may load files). */
  start(settings: Record<string, unknown>, ctx: KindContext): KindRuntime;
}
