/**
 * The `gb28181:` section: the gateway as the community's SIP server (devices register to it) and
 * as a lower platform (it registers to the city's platforms). The gateway's config schema adds
 * `detect` to each channel; the rest is declared here, beside the code that reads it.
 */
import { type Static, type TProperties, Type } from '@sinclair/typebox';
import { GridCode } from '../../contracts/grid.js';
import { StringEnum } from '../../core/schema.js';
import { GB_ID_PATTERN } from './ids.js';

export const MEDIA_TRANSPORTS = ['udp', 'tcp-passive', 'tcp-active'] as const;
export type MediaTransport = (typeof MEDIA_TRANSPORTS)[number];

const GbId = (what: string) => Type.String({ pattern: GB_ID_PATTERN, description: `${what}: 20 digits (GB/T 28181 Annex D)` });
const Password = (what: string) => Type.String({ minLength: 1, maxLength: 128, description: what });
const Charset = StringEnum(['GB2312', 'GB18030', 'UTF-8'] as const, {
  description: 'how its MANSCDP bodies are written: GB2312 (2016 edition), GB18030 (2022) or UTF-8; reading takes any',
});

export const ChannelProperties = {
  id: GbId('channel id'),
  name: Type.Optional(Type.String({ maxLength: 200, description: 'a name for people (default: what the catalog says)' })),
  grid: Type.Optional(GridCode),
  live: Type.Optional(
    Type.Boolean({ description: 'pull its video to the detectors (default: when it has detect:, since each stream costs CPU)' }),
  ),
  fps: Type.Number({ exclusiveMinimum: 0, maximum: 30, default: 2, description: 'frames per second handed to the detectors' }),
  width: Type.Integer({ minimum: 16, maximum: 4096, default: 640, description: 'frame width the detectors get' }),
  height: Type.Integer({ minimum: 16, maximum: 4096, default: 360, description: 'frame height the detectors get' }),
  stallSeconds: Type.Number({
    minimum: 1,
    maximum: 600,
    default: 10,
    description: 'no frame for this long: BYE, and INVITE again',
  }),
};

export const Gb28181DeviceProperties = {
  id: GbId('device id (SIP user of its REGISTER)'),
  name: Type.Optional(Type.String({ maxLength: 200, description: 'a name for people' })),
  grid: Type.Optional(GridCode),
  password: Type.Optional(Password('its SIP password (default: the site password; or GRIDEDGE_GB28181_PASSWORD_<ID>)')),
  charset: Type.Optional(Charset),
  keepaliveSeconds: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 3600, description: 'its keepalive period (心跳周期); three missed: device.offline' }),
  ),
  guard: Type.Boolean({
    default: false,
    description: 'send SetGuard (布防) after it registers, for devices that report alarms only when armed',
  }),
  subscribeAlarms: Type.Boolean({ default: true, description: 'SUBSCRIBE to its alarms after it registers (§9.11)' }),
  media: Type.Optional(
    StringEnum(['udp', 'tcp-passive', 'tcp-active'] as const, { description: 'how its video comes (default: gb28181.media.transport)' }),
  ),
};

export const CascadeSchema = Type.Object(
  {
    sipId: GbId("the upper platform's SIP id"),
    domain: Type.Optional(Type.String({ pattern: '^[0-9]{10}$', description: 'its SIP domain (default: the first 10 digits of sipId)' })),
    host: Type.String({ minLength: 1, description: 'its address' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 5060, description: 'its SIP port' }),
    transport: StringEnum(['udp', 'tcp'] as const, { default: 'udp', description: 'SIP over udp or tcp' }),
    password: Type.Optional(Password('the password it gave this gateway (or GRIDEDGE_GB28181_CASCADE_PASSWORD_<SIPID>)')),
    expires: Type.Integer({ minimum: 60, maximum: 86_400, default: 3600, description: 'registration period asked for, s' }),
    keepaliveSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 60, description: 'keepalive period, s' }),
    charset: Type.Optional(Charset),
    forwardAlarms: Type.Boolean({ default: true, description: 'send camera incidents up as GB/T 28181 Alarm notifications' }),
  },
  { additionalProperties: false },
);

export const Gb28181Limits = Type.Object(
  {
    registersPerMinute: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 120,
      description: 'REGISTERs one address may send a minute',
    }),
    invitesPerMinute: Type.Integer({ minimum: 1, maximum: 100_000, default: 60, description: 'INVITEs one address may send a minute' }),
    messagesPerMinute: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 6000,
      description: 'other requests one address may send a minute',
    }),
    maxStreams: Type.Integer({ minimum: 1, maximum: 512, default: 64, description: 'live streams at once (to the detectors and upward)' }),
  },
  { additionalProperties: false, default: {} },
);

export const Gb28181MediaSection = Type.Object(
  {
    portMin: Type.Integer({ minimum: 1024, maximum: 65535, default: 30000, description: 'first RTP port' }),
    portMax: Type.Integer({ minimum: 1024, maximum: 65535, default: 30999, description: 'last RTP port' }),
    transport: StringEnum<MediaTransport>(MEDIA_TRANSPORTS, {
      default: 'udp',
      description: 'RTP over UDP, or over TCP (RFC 4571) with the device connecting (tcp-passive) or the gateway connecting (tcp-active)',
    }),
  },
  { additionalProperties: false, default: {} },
);

const ChannelSchema = Type.Object(ChannelProperties, { additionalProperties: false });
export type ChannelConfig = Static<typeof ChannelSchema>;
export type CascadeConfig = Static<typeof CascadeSchema>;
export type Gb28181Limits = Static<typeof Gb28181Limits>;
export type MediaSettings = Static<typeof Gb28181MediaSection>;

/**
 * The whole `gb28181:` section; `channelExtra` is what the gateway adds to each channel (its
 * detectors), which this folder does not know.
 */
export function gb28181Section<P extends TProperties>(channelExtra: P) {
  const Channel = Type.Object({ ...ChannelProperties, ...channelExtra }, { additionalProperties: false });
  const Device = Type.Object(
    {
      ...Gb28181DeviceProperties,
      channels: Type.Array(Channel, { default: [], maxItems: 1024, description: 'its channels the gateway has settings for' }),
    },
    { additionalProperties: false },
  );
  return Type.Object(
    {
      sipId: Type.Optional(GbId("the gateway's own SIP id (default: its county, industry 01, type 200: a platform)")),
      domain: Type.Optional(
        Type.String({
          pattern: '^[0-9]{10}$',
          description: 'its SIP domain, the realm of the digest (default: the first 10 digits of sipId)',
        }),
      ),
      host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'address to listen on' }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 5060, description: 'SIP port, UDP and TCP (0 picks a free one)' }),
      transports: Type.Array(StringEnum(['udp', 'tcp'] as const), {
        minItems: 1,
        uniqueItems: true,
        default: ['udp', 'tcp'],
        description: 'SIP over udp, tcp or both',
      }),
      publicHost: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'the address devices and platforms reach the gateway at (default: its first LAN address)',
        }),
      ),
      password: Type.Optional(Password('the site password, for devices without their own (or GRIDEDGE_GB28181_PASSWORD)')),
      minExpires: Type.Integer({ minimum: 10, maximum: 3600, default: 60, description: 'shortest registration period taken, s' }),
      maxExpires: Type.Integer({ minimum: 60, maximum: 604_800, default: 86_400, description: 'longest registration period granted, s' }),
      keepaliveSeconds: Type.Integer({
        minimum: 1,
        maximum: 3600,
        default: 60,
        description: 'the keepalive period devices are set to (心跳周期); three missed: device.offline',
      }),
      acceptUnlisted: Type.Boolean({
        default: false,
        description: "true: a device not listed may register with the site password (it shows up, in the gateway's grid cell)",
      }),
      media: Gb28181MediaSection,
      limits: Gb28181Limits,
      devices: Type.Array(Device, { default: [], description: 'cameras and NVRs that register to the gateway' }),
      cascade: Type.Array(CascadeSchema, { default: [], description: 'upper platforms the gateway registers to (级联)' }),
    },
    { additionalProperties: false, description: 'GB/T 28181: cameras and NVRs register to the gateway; it registers upward' },
  );
}

/** A device as the service runs it: grid and channels filled in. */
export interface Gb28181DeviceSettings {
  id: string;
  name?: string;
  grid: string;
  password?: string;
  charset?: 'GB2312' | 'GB18030' | 'UTF-8';
  keepaliveSeconds?: number;
  guard: boolean;
  subscribeAlarms: boolean;
  media?: MediaTransport;
  channels: Array<ChannelConfig & { grid?: string }>;
}

/** What the GB/T 28181 service needs, resolved from the config. */
export interface Gb28181Settings {
  sipId: string;
  domain: string;
  host: string;
  port: number;
  transports: Array<'udp' | 'tcp'>;
  /** The address devices and platforms reach the gateway at: Via, Contact and SDP carry it. */
  publicHost: string;
  /** The site password, for devices without their own. */
  password?: string;
  minExpires: number;
  maxExpires: number;
  keepaliveSeconds: number;
  acceptUnlisted: boolean;
  media: MediaSettings;
  limits: Gb28181Limits;
  devices: Gb28181DeviceSettings[];
  cascade: CascadeConfig[];
  /** The site's zone: AlarmTime and the Date of a REGISTER's 200 are local time. */
  timezone: string;
  /** The gateway's grid cell: devices and channels without one are in it. */
  grid: string;
}
