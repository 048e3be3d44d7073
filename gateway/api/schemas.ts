/** JSON Schemas of the API's bodies: validation, serialization and the OpenAPI document from one place. */
import { Type } from '@sinclair/typebox';
import { IncidentMessageSchema } from '../../contracts/incident.js';
import { GridCode } from '../../contracts/grid.js';
import { ID_PATTERN } from '../../contracts/ids.js';
import { StringEnum } from '../../core/schema.js';

export const ErrorSchema = Type.Object(
  { error: Type.String(), code: Type.Optional(Type.String({ description: 'GE_ERR_… code, for errors that have one (docs/errors.md)' })) },
  { $id: 'Error' },
);

export const HealthSchema = Type.Object({
  status: StringEnum(['ok', 'degraded'] as const),
  gatewayId: Type.String(),
  grid: Type.String(),
  version: Type.String(),
  timezone: Type.String({ description: "the site's IANA time zone: calendar dates are compared and clock times shown in it" }),
  uptimeSeconds: Type.Number(),
  broker: Type.Object({ connectedClients: Type.Integer() }),
  uplink: Type.Object({ configured: Type.Boolean(), connected: Type.Boolean() }),
  series: Type.Object({ sink: Type.String(), written: Type.Integer(), pending: Type.Integer(), dropped: Type.Integer() }),
  incidents: Type.Object({ active: Type.Integer() }),
  outbox: Type.Object({ pending: Type.Integer(), oldestAgeSeconds: Type.Integer(), lastSeq: Type.Integer(), dropped: Type.Integer() }),
  evidencePush: Type.Optional(
    Type.Object(
      {
        sink: Type.String(),
        pending: Type.Integer(),
        pendingBytes: Type.Integer(),
        oldestAgeSeconds: Type.Integer(),
        delivered: Type.Integer(),
        dropped: Type.Object({ full: Type.Integer(), expired: Type.Integer(), undeliverable: Type.Integer() }),
        corrupt: Type.Optional(Type.Integer()),
        lastError: Type.Optional(Type.String()),
      },
      { description: 'evidence waiting to be pushed to the centre (evidence.push), delivered and dropped since start' },
    ),
  ),
  viid: Type.Optional(
    Type.Object(
      {
        url: Type.String(),
        deviceId: Type.String(),
        registered: Type.Boolean(),
        lastError: Type.Optional(Type.String()),
        pending: Type.Integer(),
        delivered: Type.Integer(),
        dropped: Type.Object({ full: Type.Integer(), expired: Type.Integer(), undeliverable: Type.Integer() }),
      },
      { description: "the city's 视图库 (captures.viid): registration, captures waiting, delivered and dropped since start" },
    ),
  ),
  cluster: Type.Optional(
    Type.Object(
      { node: Type.String(), leader: Type.Boolean() },
      { description: 'this node of an HA pair: only the leader runs the uplink' },
    ),
  ),
  problems: Type.Array(Type.String()),
});

const Value = Type.Union([Type.Number(), Type.String(), Type.Boolean()]);

export const DeviceSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  grid: Type.String(),
  place: Type.Optional(Type.String({ description: "the grid code's GB/T 2260 division, named (北京市 朝阳区 建外街道)" })),
  name: Type.Optional(Type.String()),
  location: Type.Optional(Type.Object({ lat: Type.Number(), lon: Type.Number() })),
  source: StringEnum(['config', 'provisioned'] as const),
  online: Type.Boolean(),
  lastSeen: Type.Optional(Type.String()),
  messages: Type.Integer(),
  rejected: Type.Integer(),
  lastValues: Type.Record(Type.String(), Value),
});

export const DeviceDetailSchema = Type.Intersect([
  DeviceSchema,
  Type.Object({
    rejections: Type.Array(
      Type.Object({
        at: Type.String(),
        channel: Type.String(),
        reason: Type.String(),
        detail: Type.String(),
        size: Type.Integer(),
        payloadHead: Type.String(),
      }),
    ),
    activeIncidents: Type.Array(Type.String()),
  }),
]);

export const NewDeviceSchema = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN }),
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    secret: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    grid: Type.Optional(GridCode),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    location: Type.Optional(
      Type.Object(
        { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
        { additionalProperties: false },
      ),
    ),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const VideoSourceSchema = Type.Object({ deviceId: Type.String(), grid: Type.String(), url: Type.String(), since: Type.String() });

const SourceHealthSchema = Type.Object({
  state: StringEnum(['starting', 'streaming', 'stalled', 'reconnecting', 'stopped'] as const),
  connected: Type.Boolean(),
  fpsIn: Type.Number({ description: 'frames per second decoded over the last few seconds' }),
  frames: Type.Integer(),
  restarts: Type.Integer(),
  stalls: Type.Integer(),
  lastError: Type.Optional(Type.String()),
  lastFrameAt: Type.Optional(Type.String()),
});

const CameraDeviceInfoSchema = Type.Object(
  {
    model: Type.Optional(Type.String()),
    serial: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    mac: Type.Optional(Type.String()),
  },
  { description: 'what the camera says of itself (ISAPI deviceInfo, Dahua magicBox getSystemInfo)' },
);

export const CameraHealthSchema = Type.Object({
  id: Type.String(),
  grid: Type.String(),
  name: Type.Optional(Type.String()),
  onvif: Type.Optional(
    Type.Object({
      connected: Type.Boolean(),
      info: Type.Optional(
        Type.Object({
          manufacturer: Type.String(),
          model: Type.String(),
          firmware: Type.String(),
          serial: Type.String(),
          hardwareId: Type.String(),
        }),
      ),
      events: Type.Boolean({ description: 'a PullPoint subscription is live' }),
      renewals: Type.Integer(),
      lastError: Type.Optional(Type.String()),
    }),
  ),
  isapi: Type.Optional(
    Type.Object(
      {
        connected: Type.Boolean({ description: 'the ISAPI event stream is open' }),
        refused: Type.Integer({ description: 'parts of it that were not readable alerts' }),
        device: Type.Optional(CameraDeviceInfoSchema),
        deviceError: Type.Optional(Type.String({ description: 'why /ISAPI/System/deviceInfo could not be read' })),
        push: Type.Optional(
          Type.Object(
            {
              received: Type.Integer(),
              refused: Type.Integer({ description: 'pushes refused: a wrong signature, or a body that is not an alert' }),
              lastAt: Type.Optional(Type.String()),
              httpHost: Type.Optional(Type.Object({ written: Type.Boolean(), error: Type.Optional(Type.String()) })),
            },
            { description: 'the camera pushing its events to the gateway (ISAPI httpHosts)' },
          ),
        ),
      },
      { description: "a Hikvision camera's own analytics (ISAPI alertStream, or pushed)" },
    ),
  ),
  dahua: Type.Optional(
    Type.Object(
      {
        connected: Type.Boolean({ description: 'the eventManager attach stream is open' }),
        refused: Type.Integer({ description: 'parts of it that were not readable events' }),
        snapshotFailures: Type.Integer({ description: "captures that went on without the camera's snapshot" }),
        device: Type.Optional(CameraDeviceInfoSchema),
        deviceError: Type.Optional(Type.String({ description: 'why magicBox.cgi getSystemInfo could not be read' })),
      },
      { description: "a Dahua camera's own analytics (eventManager.cgi?action=attach)" },
    ),
  ),
  source: StringEnum(['rtsp', 'snapshot', 'feed', 'none'] as const, {
    description: 'where frames come from: RTSP, snapshots, or a feed the gateway receives (GB/T 28181)',
  }),
  stream: Type.Optional(SourceHealthSchema),
  framesDropped: Type.Integer({ description: 'frames dropped because the detectors were behind' }),
  framesGated: Type.Integer({ description: 'frames skipped while motion gating saw no motion' }),
  framesDelivered: Type.Integer(),
  motion: Type.Boolean(),
  tamper: Type.Boolean(),
  lastError: Type.Optional(Type.String()),
});

export const VisionSchema = Type.Object({
  workers: Type.Optional(
    Type.Object({
      workers: Type.Integer(),
      busy: Type.Integer(),
      queued: Type.Integer({ description: 'frames waiting for a free worker (at most one per camera)' }),
      jobs: Type.Integer(),
      failures: Type.Integer(),
      restarts: Type.Integer({ description: 'workers replaced after dying' }),
      meanMs: Type.Record(Type.String(), Type.Number(), { description: 'mean milliseconds per detector over the last 50 frames' }),
    }),
  ),
  cameras: Type.Array(
    Type.Object({
      camera: Type.String(),
      detectors: Type.Array(Type.String()),
      frames: Type.Integer({ description: 'frames the detectors have read' }),
      failures: Type.Integer(),
      lastAt: Type.Optional(Type.Number()),
      lastMs: Type.Optional(Type.Number({ description: 'milliseconds from handing the frame over to having its detections' })),
      last: Type.Record(Type.String(), Type.Integer(), { description: 'objects in the last frame, by label' }),
      tracks: Type.Integer({ description: 'objects being tracked now' }),
      crossings: Type.Record(Type.String(), Type.Record(Type.String(), Type.Object({ in: Type.Integer(), out: Type.Integer() })), {
        description: 'per line, crossings since the gateway started by class (person, vehicle) and direction',
      }),
    }),
  ),
  captures: Type.Array(
    Type.Object({
      track: Type.String(),
      camera: Type.String(),
      grid: Type.String(),
      label: Type.String(),
      firstAt: Type.Number(),
      lastAt: Type.Number(),
      frames: Type.Integer(),
      score: Type.Number(),
      quality: Type.Number({ description: 'of the best shot, 0..1: confidence, size, sharpness, frontal pose' }),
      plate: Type.Optional(Type.String()),
      color: Type.Optional(Type.String()),
      plateType: Type.Optional(Type.String({ description: 'small, large, new_energy_small, trailer, police, … (contracts/plate.ts)' })),
      sha256: Type.Optional(Type.String({ description: 'the best shot, in the evidence store (GET /api/evidence/{sha256})' })),
    }),
    { description: 'one per track, newest first' },
  ),
});

export const IncidentSchema = IncidentMessageSchema;

export const IncidentQuerySchema = Type.Object(
  {
    status: Type.Optional(StringEnum(['open', 'acknowledged', 'dispatched', 'resolved', 'closed'] as const)),
    category: Type.Optional(
      Type.String({ pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$', description: 'a category or a dotted prefix of one' }),
    ),
    grid: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'a grid code or a prefix of one' })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const CommandBodySchema = Type.Object(
  {
    by: Type.Optional(Type.String({ maxLength: 128 })),
    assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

const Iso = Type.String({ description: 'ISO 8601, UTC' });

export const GbCatalogItemSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  manufacturer: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  owner: Type.Optional(Type.String()),
  civilCode: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
  parental: Type.Boolean(),
  parentId: Type.Optional(Type.String()),
  status: Type.String({ description: 'as the device says it: ON, OFF, VLOST, DEFECT' }),
  online: Type.Boolean(),
  longitude: Type.Optional(Type.Number()),
  latitude: Type.Optional(Type.Number()),
  ptzType: Type.Optional(Type.Integer()),
  event: Type.Optional(Type.String()),
  video: Type.Boolean({ description: 'a video channel (type 131 or 132): a camera of the gateway' }),
});

export const Gb28181DeviceSchema = Type.Object({
  id: Type.String(),
  name: Type.Optional(Type.String()),
  grid: Type.String(),
  listed: Type.Boolean({ description: 'in the config (false: admitted by the site password)' }),
  registered: Type.Boolean(),
  registration: Type.Optional(
    Type.Object({
      address: Type.String({ description: 'where its requests come from (host:port)' }),
      transport: Type.String(),
      contact: Type.String(),
      registeredAt: Iso,
      expiresAt: Iso,
      userAgent: Type.Optional(Type.String()),
      version: Type.String({ description: 'the GB/T 28181 edition it speaks: 2016, or 2022 (X-GB-Ver 3.0)' }),
    }),
  ),
  lastKeepaliveAt: Type.Optional(Iso),
  catalog: Type.Array(GbCatalogItemSchema),
  catalogAt: Type.Optional(Iso),
  info: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'its DeviceInfo answer' })),
  status: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'its DeviceStatus answer' })),
});

export const Gb28181Schema = Type.Object({
  sipId: Type.String(),
  domain: Type.String(),
  port: Type.Optional(Type.Integer()),
  transports: Type.Array(Type.String()),
  publicHost: Type.String(),
  devices: Type.Array(Gb28181DeviceSchema),
  streams: Type.Array(
    Type.Object({
      channel: Type.String(),
      device: Type.String(),
      transport: Type.String(),
      startedAt: Iso,
      packets: Type.Integer(),
      bytes: Type.Integer(),
      lost: Type.Integer(),
      refused: Type.Integer({ description: 'packets refused: another address, another SSRC, not RTP' }),
      codec: Type.Optional(Type.String()),
    }),
  ),
  cascade: Type.Array(
    Type.Object({
      sipId: Type.String({ description: "the upper platform's SIP id" }),
      host: Type.String(),
      port: Type.Integer(),
      transport: Type.String(),
      registered: Type.Boolean(),
      registeredAt: Type.Optional(Iso),
      lastError: Type.Optional(Type.String({ description: 'why the last registration failed' })),
      keepalivesSent: Type.Integer(),
      alarmsSent: Type.Integer(),
      channels: Type.Array(
        Type.Object({
          id: Type.String({ description: 'the id the platform knows the channel by' }),
          name: Type.String(),
          online: Type.Boolean(),
          video: Type.Boolean({ description: 'whether its video can be sent up' }),
        }),
        { description: 'what its Catalog query is answered with' },
      ),
      streams: Type.Array(
        Type.Object({
          channel: Type.String(),
          callId: Type.String(),
          transport: Type.String(),
          to: Type.String({ description: 'where the video goes' }),
          startedAt: Iso,
          packets: Type.Integer(),
        }),
      ),
    }),
    { description: 'upper platforms the gateway registers to (级联)' },
  ),
});
