import { modelNames } from '../../devices/models/registry.js';
import { ChirpstackConfig } from '../../devices/sources/chirpstack.js';
import { Zigbee2mqttConfig } from '../../devices/sources/zigbee2mqtt.js';
import { OnenetConfig } from '../../devices/sources/onenet.js';
import { CtwingConfig } from '../../devices/sources/ctwing.js';
import { ModbusConfig } from '../../devices/sources/modbus.js';
import { Type, type Static } from '@sinclair/typebox';
import { deviceKinds, kindNames } from '../../devices/registry.js';
import { StringEnum } from '../../core/schema.js';
import { detectSchema } from '../../detectors/registry.js';
import { CameraConnectionProperties } from '../../devices/camera/config.js';
import { type Gb28181Settings, gb28181Section } from '../../devices/gb28181/config.js';
import { GB_ID_PATTERN } from '../../devices/gb28181/ids.js';
import { ZoneSchema } from '../../detectors/pipeline/zones.js';
import { GridCode } from '../../contracts/grid.js';
import { Id } from '../../contracts/ids.js';
import { ApiSection, BrokerSection, CapturesSection, ClusterSection, EvidenceSection, InfluxSection, UpstreamSection } from './sections.js';
import { CATEGORY_PATTERN } from '../../contracts/categories.js';
import { SEVERITIES } from '../../contracts/incident.js';

const Secret = (what: string) => Type.String({ minLength: 8, maxLength: 256, description: `${what}, 8-256 characters` });

export const DetectSchema = detectSchema(true);
const LiveDetectSchema = Type.Composite(
  [
    Type.Omit(detectSchema(false), ['minSize', 'zones']),
    Type.Object({
      minSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
      zones: Type.Optional(Type.Array(ZoneSchema, { maxItems: 32 })),
    }),
  ],
  { additionalProperties: false },
);

/** GB/T 28181 (its own module's schema), each channel with the detectors it feeds. */
export const Gb28181Schema = gb28181Section({ detect: Type.Optional(DetectSchema) });

/** A camera: how to reach it (its own module's schema) and the detectors it feeds. */
export const CameraSchema = Type.Object(
  {
    ...CameraConnectionProperties,
    gbId: Type.Optional(
      Type.String({
        pattern: GB_ID_PATTERN,
        description: 'its GB/T 28181 id towards upper platforms (级联); default: one of the gateway domain, allocated once and kept',
      }),
    ),
    detect: Type.Optional(DetectSchema),
  },
  { additionalProperties: false },
);

export const DeviceSchema = Type.Object(
  {
    id: Id('device id'),
    kind: StringEnum(kindNames(), { description: `a device kind: ${kindNames().join(', ')}` }),
    secret: Type.Optional(Secret('device password')),
    secretHash: Type.Optional(
      Type.String({
        pattern: '^scrypt\\$\\d+\\$\\d+\\$\\d+\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+$',
        description: 'scrypt hash of the device password (gridedge devices hash-secret), instead of secret',
      }),
    ),
    grid: Type.Optional(GridCode),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'a human name, up to 200 characters' })),
    location: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude in degrees, -90..90' }),
          lon: Type.Number({ minimum: -180, maximum: 180, description: 'longitude in degrees, -180..180' }),
        },
        { additionalProperties: false },
      ),
    ),
    cameras: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: 16,
        uniqueItems: true,
        description: 'cameras whose snapshots its incidents get (default: every camera of its grid cell)',
      }),
    ),
    heartbeatSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86_400,
        description: 'seconds between messages of a healthy device (0: never raise device.offline); default from its kind',
      }),
    ),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "settings of this device, per its kind's page" })),
    via: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description: "the gateway device whose connection carries its messages: a DJI dock's id, for its aircraft (no secret then)",
      }),
    ),
    source: Type.Optional(
      Type.Object(
        {
          type: StringEnum(['zigbee2mqtt', 'chirpstack', 'onenet', 'ctwing', 'modbus'] as const, {
            description: 'the source that brings it (sources.<type>)',
          }),
          id: Type.String({
            minLength: 1,
            maxLength: 128,
            description: 'its id there: a zigbee2mqtt friendly name or IEEE address (0x…), a LoRaWAN DevEUI (16 hex digits)',
          }),
          model: StringEnum(modelNames(), { description: `its device model: ${modelNames().join(', ')}` }),
        },
        {
          additionalProperties: false,
          description: 'a device that reaches the gateway through a source, not by MQTT of its own: it needs no secret',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `kinds.<kind>`: each kind's deployment settings, from the kind's own schema. */
const KindsSchema = Type.Object(
  Object.fromEntries([...deviceKinds.values()].filter((k) => k.settingsSchema).map((k) => [k.kind, k.settingsSchema!])),
  { additionalProperties: false, default: {} },
);

const CategoryOverride = Type.Object(
  {
    severity: Type.Optional(StringEnum(SEVERITIES)),
    deadlineMinutes: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'minutes from occurrence to the handling deadline, > 0' }),
    ),
    ackWithinMinutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'minutes the platform has to acknowledge, > 0' })),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    gateway: Type.Object(
      {
        id: Id('gateway id'),
        grid: GridCode,
        dataDir: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'folder for state, outbox and spool, relative to the config file; default /var/lib/gridedge/<id> as root',
          }),
        ),
        logLevel: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { default: 'info' }),
        timezone: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              "the site's IANA time zone (Asia/Shanghai): calendar dates are compared and clock times shown in it; default the system's",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    broker: BrokerSection,
    upstream: UpstreamSection,
    influx: InfluxSection,
    cluster: ClusterSection,
    outbox: Type.Object(
      {
        maxBytes: Type.Integer({
          minimum: 65_536,
          default: 256 * 1024 * 1024,
          description: 'bytes of pending incident messages kept while the uplink is down, at least 65536',
        }),
        maxAgeHours: Type.Number({ exclusiveMinimum: 0, default: 168, description: 'hours a pending incident message is kept, > 0' }),
        lanes: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_.]*$' }), Type.Integer({ minimum: 0, maximum: 9 }), {
          default: {},
          description: 'category prefix → lane 0..9 (0 drains first), merged over the defaults',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    evidence: EvidenceSection,
    captures: CapturesSection,
    sources: Type.Object(
      {
        zigbee2mqtt: Type.Optional(Zigbee2mqttConfig),
        chirpstack: Type.Optional(ChirpstackConfig),
        onenet: Type.Optional(OnenetConfig),
        ctwing: Type.Optional(CtwingConfig),
        modbus: Type.Optional(ModbusConfig),
      },
      { additionalProperties: false, default: {}, description: 'transports for devices that do not speak gridedge JSON (docs/sources.md)' },
    ),
    api: ApiSection,
    kinds: KindsSchema,
    incidents: Type.Object(
      {
        categories: Type.Record(Type.String({ pattern: CATEGORY_PATTERN }), CategoryOverride, {
          default: {},
          description: 'category → {severity, deadlineMinutes, ackWithinMinutes} laid over the defaults',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    devices: Type.Array(DeviceSchema, { default: [], description: 'a list of devices' }),
    video: Type.Object(
      {
        ffmpegPath: Type.String({
          minLength: 1,
          default: 'ffmpeg',
          description: "the ffmpeg program that decodes camera streams (default: Debian's, on PATH)",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    vision: Type.Object(
      {
        workers: Type.Integer({
          minimum: 1,
          maximum: 16,
          default: 1,
          description: 'detector worker threads (each runs one frame at a time), 1..16',
        }),
        timezone: Type.Optional(
          Type.String({ minLength: 1, description: 'IANA time zone of restricted-zone hours (default gateway.timezone)' }),
        ),
        fireConfirmFrames: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 3,
          description: 'frames with flames or smoke before fire.video_* is raised',
        }),
        liveVideoDetect: Type.Union([LiveDetectSchema, Type.Literal(false)], {
          default: { object: {}, fire: {} },
          description:
            'detectors on live video that devices announce (a drone over its patrol area): people, vehicles and fire by default; ' +
            'false for none',
        }),
        repeatSeconds: Type.Integer({
          minimum: 0,
          maximum: 86_400,
          default: 60,
          description: 'an incident a camera raised is raised again (count + 1) at most this often, 0..86400 s',
        }),
        trackMissedFrames: Type.Integer({
          minimum: 0,
          maximum: 100,
          default: 3,
          description: 'frames an object may go unseen before its track ends and its capture is recorded',
        }),
        sameFaceSeconds: Type.Number({
          minimum: 0,
          maximum: 600,
          default: 5,
          description:
            'a face lost (turned away, hidden) and seen again where it was within this many seconds ' +
            'is the same track and one capture, 0..600',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    cameras: Type.Array(CameraSchema, {
      default: [],
      description: 'cameras: ONVIF (discovered or by address) or plain RTSP / snapshot URLs',
    }),
    gb28181: Type.Optional(Gb28181Schema),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
export type DeviceConfig = Static<typeof DeviceSchema>;
export type CameraConfig = Static<typeof CameraSchema>;
/** A camera as the gateway runs it: its grid cell filled in. */
export type GatewayCamera = CameraConfig & { grid: string };

type RawGb28181 = Static<typeof Gb28181Schema>;
export type GbChannelConfig = RawGb28181['devices'][number]['channels'][number];
/** The GB/T 28181 section resolved: ids, address, passwords and grid cells filled in. */
export type GatewayGb28181 = Omit<Gb28181Settings, 'devices'> & {
  devices: Array<Omit<Gb28181Settings['devices'][number], 'channels'> & { channels: GbChannelConfig[] }>;
};

/** The config after defaults, env overrides and cross-checks: every device has a secret and a grid. */
export interface Config extends Omit<RawConfig, 'devices' | 'cameras' | 'gateway' | 'vision' | 'gb28181'> {
  gb28181?: GatewayGb28181;
  /** `timezone` filled in: the config's, or the system's. */
  gateway: RawConfig['gateway'] & { timezone: string };
  vision: RawConfig['vision'] & { timezone: string };
  cameras: GatewayCamera[];
  devices: Array<DeviceConfig & { grid: string; options: Record<string, unknown>; heartbeatSeconds?: number }>;
  /** Absolute; resolved against the config file's folder. */
  dataDir: string;
  /** The config file's folder: kinds resolve their files (registries, watchlists) against it. */
  baseDir: string;
  /** What the gateway may do but probably should not (config/warnings.ts): said by config check and at start. */
  warnings: string[];
}
