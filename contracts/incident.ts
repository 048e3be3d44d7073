/**
 * The incident message: gridedge's public contract with the central platform. Defined once here;
 * `npm run schemas` writes it to schemas/incident.v1.schema.json, and a test keeps the two equal.
 * Change it only on purpose, and bump the version in `schema` when a consumer would break.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../core/schema.js';
import { ISO_UTC_PATTERN, ULID_PATTERN } from './ids.js';

export const INCIDENT_SCHEMA_ID = 'gridedge.incident/v1';

export const SEVERITIES = ['info', 'minor', 'major', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Evidence classes: each has its own retention (faces and plates are personal data). */
export const EVIDENCE_CLASSES = ['face', 'plate', 'person', 'vehicle', 'scene', 'snapshot'] as const;
export type EvidenceClass = (typeof EVIDENCE_CLASSES)[number];

/** Where a pushed evidence object will be on the platform's side (evidence.push), known when the incident is published. */
export const EvidenceDelivery = Type.Object(
  {
    sink: StringEnum(['mqtt', 'http', 's3'] as const, {
      description: 'mqtt: chunks on …/evidence/{sha256} (see docs/evidence.md); http: PUT/POST to url; s3: object in a bucket',
    }),
    key: Type.String({
      minLength: 1,
      maxLength: 400,
      description: 'the object key: <prefix><gatewayId>/<sha256>.<ext> (s3: <bucket>/<key>)',
    }),
    url: Type.Optional(Type.String({ description: 'where the platform reads it, when the sink has one' })),
  },
  { additionalProperties: false, description: 'pushed by the gateway; arrives at least once, byte-identical (check the sha256)' },
);

const IsoTime = (what: string) => Type.String({ pattern: ISO_UTC_PATTERN, description: `${what}, ISO 8601 UTC` });

export const IncidentMessageSchema = Type.Object(
  {
    schema: Type.Literal(INCIDENT_SCHEMA_ID),
    type: Type.Union([Type.Literal('new'), Type.Literal('update'), Type.Literal('end')], {
      description: 'new: first message of an incident; update: any change; end: the incident is closed',
    }),
    id: Type.String({
      pattern: ULID_PATTERN,
      description: 'incident id (ULID): unique, sortable by creation time, stable across retries',
    }),
    seq: Type.Integer({ minimum: 1, description: 'per-gateway message sequence, gap-free: a gap means a lost message' }),
    revision: Type.Integer({ minimum: 1, description: 'per-incident change counter; (id, revision) identifies a message' }),
    gatewayId: Type.String({ minLength: 1, maxLength: 64 }),
    grid: Type.String({ pattern: '^[0-9]{15}$', description: '15-digit grid cell code' }),
    category: Type.String({ pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$', description: 'dotted code such as fire.smoke_alarm' }),
    severity: StringEnum(SEVERITIES),
    status: StringEnum(['open', 'acknowledged', 'dispatched', 'resolved', 'closed'] as const),
    occurredAt: IsoTime('first occurrence'),
    lastOccurredAt: IsoTime('latest occurrence folded into this incident'),
    updatedAt: IsoTime('time of this message'),
    resolvedAt: Type.Optional(IsoTime('time the cause went away')),
    deadline: IsoTime('handling deadline (处置时限)'),
    location: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
        },
        { additionalProperties: false },
      ),
    ),
    devices: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64 }),
          kind: Type.String({ minLength: 1, maxLength: 64 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    facts: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    evidence: Type.Array(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('image'), Type.Literal('video')]),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: "sha256 of the stored bytes: the evidence's name" }),
          class: Type.Optional(
            StringEnum(EVIDENCE_CLASSES, {
              description: 'decides how long the gateway keeps it',
            }),
          ),
          url: Type.Optional(Type.String({ description: 'signed link to the bytes on the gateway, valid until it expires' })),
          delivery: Type.Optional(EvidenceDelivery),
          masked: Type.Optional(
            Type.Boolean({ description: 'true: faces or plates in it were blurred before it left the gateway (evidence.privacy)' }),
          ),
          original: Type.Optional(
            Type.String({
              pattern: '^[0-9a-f]{64}$',
              description: 'sha256 of the unmasked image, kept only on the gateway (its API, access-logged)',
            }),
          ),
          thumbnail: Type.Optional(
            Type.Object(
              {
                mime: Type.Literal('image/jpeg'),
                width: Type.Integer({ minimum: 1 }),
                height: Type.Integer({ minimum: 1 }),
                inline: Type.String({ contentEncoding: 'base64', description: 'the thumbnail JPEG' }),
              },
              { additionalProperties: false, description: 'a small JPEG of the (masked) image, always inline (evidence.thumbnails)' },
            ),
          ),
          camera: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the camera that took it' })),
          mime: Type.Optional(Type.String()),
          bytes: Type.Optional(Type.Integer({ minimum: 0 })),
          inline: Type.Optional(
            Type.String({
              contentEncoding: 'base64',
              description: 'the bytes themselves, when the gateway is configured to send small images inline',
            }),
          ),
          boxes: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  x: Type.Number(),
                  y: Type.Number(),
                  w: Type.Number(),
                  h: Type.Number(),
                  label: Type.Optional(Type.String()),
                  score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
                },
                { additionalProperties: false },
              ),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    correlationKey: Type.String({ minLength: 1, maxLength: 200, description: 'repeats with this key fold into this incident' }),
    count: Type.Integer({ minimum: 1, description: 'occurrences folded into this incident' }),
    handling: Type.Optional(
      Type.Object(
        {
          acknowledgedAt: Type.Optional(IsoTime('when the platform acknowledged it')),
          acknowledgedBy: Type.Optional(Type.String({ maxLength: 128 })),
          dispatchedAt: Type.Optional(IsoTime('when a work order was (last) dispatched')),
          dispatchedBy: Type.Optional(Type.String({ maxLength: 128, description: 'who dispatched it (last)' })),
          assignee: Type.Optional(
            Type.String({ maxLength: 128, description: 'who handles it (grid worker, team); a re-dispatch changes it' }),
          ),
          resolvedBy: Type.Optional(Type.String({ maxLength: 128 })),
          closedAt: Type.Optional(IsoTime('when the platform closed it after checking')),
          closedBy: Type.Optional(Type.String({ maxLength: 128 })),
          note: Type.Optional(Type.String({ maxLength: 500, description: 'the latest note; every note is kept in history' })),
          history: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  command: StringEnum(['ack', 'dispatch', 'resolve', 'close'] as const),
                  at: IsoTime('when'),
                  from: StringEnum(['open', 'acknowledged', 'dispatched', 'resolved', 'closed'] as const),
                  to: StringEnum(['open', 'acknowledged', 'dispatched', 'resolved', 'closed'] as const),
                  by: Type.Optional(Type.String({ maxLength: 128, description: 'the operator, or "device" when the cause went away' })),
                  assignee: Type.Optional(Type.String({ maxLength: 128 })),
                  note: Type.Optional(Type.String({ maxLength: 500 })),
                },
                { additionalProperties: false },
              ),
              { maxItems: 50, description: 'every transition of its handling, oldest first (the last 50)' },
            ),
          ),
          remindedAt: Type.Optional(IsoTime('when a reminder (提醒) went out for want of an acknowledgement')),
          escalatedAt: Type.Optional(IsoTime('when it passed its deadline and was escalated (督办)')),
        },
        { additionalProperties: false },
      ),
    ),
    flags: Type.Optional(
      Type.Array(Type.Union([Type.Literal('reminder'), Type.Literal('overdue'), Type.Literal('escalated')]), {
        uniqueItems: true,
        description: 'reminder: not acknowledged in time; overdue: past its deadline; escalated: severity raised for it',
      }),
    ),
  },
  { additionalProperties: false, $id: 'https://gridedge.dev/schemas/incident.v1.schema.json', title: 'gridedge incident message v1' },
);

export type IncidentMessage = Static<typeof IncidentMessageSchema>;
export type IncidentStatus = IncidentMessage['status'];
