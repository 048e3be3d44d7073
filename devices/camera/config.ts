/**
 * How the gateway reaches one camera (`cameras[]` in the config, less its detectors): ONVIF,
 * RTSP or snapshot URLs, credentials, and the frames it hands on. The gateway's config adds the
 * `detect` section; the camera stage needs only this.
 */
import { type Static, Type } from '@sinclair/typebox';
import { GridCode } from '../../contracts/grid.js';
import { Id } from '../../contracts/ids.js';
import { LocalHours, StringEnum } from '../../core/schema.js';

export const CameraConnectionProperties = {
  id: Id('camera id'),
  grid: Type.Optional(GridCode),
  name: Type.Optional(Type.String({ maxLength: 200, description: 'a human name, up to 200 characters' })),
  onvif: Type.Optional(
    Type.String({ pattern: '^http://[^\\s]+$', description: 'ONVIF device service address, http://host[:port]/onvif/device_service' }),
  ),
  rtsp: Type.Optional(
    Type.String({ pattern: '^rtsps?://[^\\s]+$', description: 'RTSP stream URL (for cameras without ONVIF, or to override its stream)' }),
  ),
  isapi: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s/]+/?$',
      description: "a Hikvision camera's address, http://host[:port]: its own analytics are read from its ISAPI event stream",
    }),
  ),
  isapiPush: Type.Optional(
    Type.Object(
      {
        password: Type.Optional(
          Type.String({
            minLength: 8,
            maxLength: 128,
            description: 'what the camera signs its pushes with, user = the camera id (or GRIDEDGE_CAMERA_PUSH_PASSWORD_<ID>)',
          }),
        ),
        gateway: Type.Optional(
          Type.String({
            pattern: '^https?://[^\\s/]+:\\d+$',
            description:
              "the gateway's API as the camera reaches it (http://ip:port): set, the gateway writes the camera's httpHosts entry itself",
          }),
        ),
        alsoStream: Type.Boolean({ default: false, description: 'true: hold the alertStream open as well' }),
      },
      {
        additionalProperties: false,
        description: 'the camera pushes its events to the gateway (ISAPI httpHosts) instead of the gateway reading its alertStream',
      },
    ),
  ),
  intrusionHours: Type.Optional(
    LocalHours(
      "local hours (site time zone) when the camera's own intrusion and line-crossing events raise incidents, e.g. 22:00-06:00; " +
        'outside them they are recorded only',
    ),
  ),
  dahua: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s/]+/?$',
      description: "a Dahua camera's address, http://host[:port]: its own analytics are read from its eventManager stream",
    }),
  ),
  snapshot: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description: 'HTTP snapshot URL (fallback source, and the pictures attached to alarms)',
    }),
  ),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'camera user name (ONVIF, RTSP and snapshot)' })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'camera password (or GRIDEDGE_CAMERA_PASSWORD_<ID>)' })),
  source: StringEnum(['auto', 'rtsp', 'snapshot'] as const, {
    default: 'auto',
    description: 'where frames come from: auto (the stream, else snapshots), rtsp or snapshot',
  }),
  fps: Type.Number({
    exclusiveMinimum: 0,
    maximum: 30,
    default: 2,
    description: 'frames per second handed to the detectors, > 0 and <= 30',
  }),
  width: Type.Integer({ minimum: 16, maximum: 4096, default: 640, description: 'frame width the detectors get, 16..4096' }),
  height: Type.Integer({ minimum: 16, maximum: 4096, default: 360, description: 'frame height the detectors get, 16..4096' }),
  stallSeconds: Type.Number({
    minimum: 1,
    maximum: 600,
    default: 10,
    description: 'no frame for this long: the stream is stalled and restarted, 1..600 s',
  }),
  motionGate: Type.Boolean({
    default: false,
    description: 'true: hand frames to the detectors only while the camera reports motion (ONVIF events)',
  }),
  queueFrames: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 2,
    description: 'frames waiting for the detectors; the oldest is dropped beyond this, 1..100',
  }),
};

export const CameraConnectionSchema = Type.Object(CameraConnectionProperties, { additionalProperties: false });

/** A camera as the camera stage runs it: its grid cell is always known (the gateway's by default). */
export type CameraSettings = Static<typeof CameraConnectionSchema> & { grid: string };
