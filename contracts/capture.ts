/**
 * The capture message (抓拍): one face, plate, person or vehicle the gateway saw, once per track,
 * for the centre's own search — whether the gateway's detectors found it or a smart camera
 * pushed it. Published at QoS 1 on `gridedge/v1/{grid}/{gatewayId}/capture` through a durable
 * queue (nothing lost across outages and restarts), its images pushed through the evidence sink.
 * `npm run schemas` writes schemas/capture.v1.schema.json; a test keeps the two equal.
 */
import { PLATE_TYPES } from './plate.js';
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../core/schema.js';
import { ISO_UTC_PATTERN, ULID_PATTERN } from './ids.js';
import { EvidenceDelivery } from './incident.js';

export const CAPTURE_SCHEMA_ID = 'gridedge.capture/v1';

export const CAPTURE_SUBJECTS = ['face', 'plate', 'person', 'vehicle'] as const;
export type CaptureSubject = (typeof CAPTURE_SUBJECTS)[number];

const IsoTime = (what: string) => Type.String({ pattern: ISO_UTC_PATTERN, description: `${what}, ISO 8601 UTC` });

const CaptureImage = (what: string) =>
  Type.Object(
    {
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
      mime: Type.String(),
      bytes: Type.Integer({ minimum: 0 }),
      width: Type.Optional(Type.Integer({ minimum: 1 })),
      height: Type.Optional(Type.Integer({ minimum: 1 })),
      masked: Type.Optional(Type.Boolean({ description: 'faces or plates blurred before it left (evidence.privacy)' })),
      delivery: Type.Optional(EvidenceDelivery),
      url: Type.Optional(Type.String({ description: 'signed link on the gateway, for platforms that reach it' })),
    },
    { additionalProperties: false, description: what },
  );

export const CaptureMessageSchema = Type.Object(
  {
    schema: Type.Literal(CAPTURE_SCHEMA_ID),
    id: Type.String({ pattern: ULID_PATTERN, description: 'capture id (ULID), stable across retries: the platform de-duplicates by it' }),
    gatewayId: Type.String({ minLength: 1, maxLength: 64 }),
    grid: Type.String({ pattern: '^[0-9]{15}$', description: "the camera's grid cell" }),
    camera: Type.String({ minLength: 1, maxLength: 64, description: 'the camera (device id) that saw it' }),
    source: StringEnum(['detector', 'camera'] as const, {
      description: "detector: the gateway's own detectors; camera: the smart camera's own analytics (pushed to the gateway)",
    }),
    subject: StringEnum(CAPTURE_SUBJECTS),
    track: Type.String({ minLength: 1, maxLength: 128, description: 'the track it is the best shot of: one capture per track' }),
    firstAt: IsoTime('first seen'),
    lastAt: IsoTime('last seen'),
    frames: Type.Optional(Type.Integer({ minimum: 1, description: 'frames the track was seen in' })),
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "the detector's (or camera's) confidence" })),
    quality: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'best-shot quality: size, sharpness, pose' })),
    plate: Type.Optional(
      Type.Object(
        {
          text: Type.String({ minLength: 1, maxLength: 16, description: 'normalised, no separators: 京A12345' }),
          color: Type.Optional(Type.String({ maxLength: 16 })),
          type: Type.Optional(
            StringEnum(PLATE_TYPES, { description: 'plate type (contracts/plate.ts): small, large, new_energy_small, trailer, police, …' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    direction: Type.Optional(StringEnum(['in', 'out'] as const)),
    crop: Type.Optional(CaptureImage('the best shot, cropped round the subject')),
    scene: Type.Optional(CaptureImage('the whole frame the best shot was cut from')),
    box: Type.Optional(
      Type.Object(
        { x: Type.Number(), y: Type.Number(), w: Type.Number(), h: Type.Number() },
        { additionalProperties: false, description: 'where the subject is in the scene, pixels' },
      ),
    ),
  },
  { additionalProperties: false, $id: 'https://gridedge.dev/schemas/capture.v1.schema.json', title: 'gridedge capture message v1' },
);

export type CaptureMessage = Static<typeof CaptureMessageSchema>;

export function captureTopic(root: string): string {
  return `${root}/capture`;
}
