/**
 * The incident message: gridedge's public contract with the central platform. Defined once here;
 * `npm run schemas` writes it to schemas/incident.v1.schema.json, and a test keeps the two equal.
 * Change it only on purpose, and bump the version in `schema` when a consumer would break.
 */
import { Type, type Static } from '@sinclair/typebox';

export const INCIDENT_SCHEMA_ID = 'gridedge.incident/v1';

const IsoTime = (what: string) =>
  Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$', description: `${what}, ISO 8601 UTC` });

export const IncidentMessageSchema = Type.Object(
  {
    schema: Type.Literal(INCIDENT_SCHEMA_ID),
    type: Type.Union([Type.Literal('new'), Type.Literal('update'), Type.Literal('end')], {
      description: 'new: first message of an incident; update: any change; end: the incident is closed',
    }),
    id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'incident id (ULID): unique, sortable by creation time, stable across retries' }),
    seq: Type.Integer({ minimum: 1, description: 'per-gateway message sequence, gap-free: a gap means a lost message' }),
    revision: Type.Integer({ minimum: 1, description: 'per-incident change counter; (id, revision) identifies a message' }),
    gatewayId: Type.String({ minLength: 1, maxLength: 64 }),
    grid: Type.String({ pattern: '^[0-9]{15}$', description: '15-digit grid cell code' }),
    category: Type.String({ pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$', description: 'dotted code such as fire.smoke_alarm' }),
    severity: Type.Union(['info', 'minor', 'major', 'critical'].map((s) => Type.Literal(s))),
    status: Type.Union(['open', 'acknowledged', 'dispatched', 'resolved', 'closed'].map((s) => Type.Literal(s))),
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
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          url: Type.Optional(Type.String()),
          mime: Type.Optional(Type.String()),
          boxes: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  x: Type.Number(), y: Type.Number(), w: Type.Number(), h: Type.Number(),
                  label: Type.Optional(Type.String()), score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
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
  },
  { additionalProperties: false, $id: 'https://gridedge.dev/schemas/incident.v1.schema.json', title: 'gridedge incident message v1' },
);

export type IncidentMessage = Static<typeof IncidentMessageSchema>;
export type IncidentStatus = IncidentMessage['status'];
