/** Scenario files: a fleet per grid cell, a timeline of events, and the incidents to expect. */
import { Type, type Static } from '@sinclair/typebox';
import { GridCode } from '../../contracts/grid.js';
import { ID_PATTERN } from '../../contracts/ids.js';

export const FleetSchema = Type.Object(
  {
    kind: Type.String({ minLength: 1, description: 'a device kind with a simulator' }),
    count: Type.Integer({ minimum: 1, maximum: 100_000 }),
    grid: GridCode,
    idPrefix: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$', description: 'ids are <idPrefix><n>, n from 1, zero-padded' }),
    secret: Type.String({
      minLength: 8,
      maxLength: 256,
      description: "the fleet's device secret (the gateway must know these devices: gridedge sim --print-devices)",
    }),
    telemetryEvery: Type.Number({ exclusiveMinimum: 0, default: 30, description: 'seconds between readings, ±20 % jitter' }),
    batteryDrainPerHour: Type.Number({
      minimum: 0,
      maximum: 100,
      default: 0,
      description: 'battery percent lost per hour (devices that report a battery: smoke alarms, drones)',
    }),
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "the devices' options, as the gateway config gives them" }),
    ),
    start: Type.Optional(
      Type.Object(
        { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
        { additionalProperties: false, description: 'where a moving device (a drone) starts' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const EventSchema = Type.Object(
  {
    at: Type.Number({ minimum: 0, description: 'seconds from the start' }),
    device: Type.String({ pattern: ID_PATTERN }),
    do: Type.String({ minLength: 1, description: "an action of the device's simulator" }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const ExpectSchema = Type.Object(
  {
    category: Type.String({ pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$' }),
    grid: Type.Optional(GridCode),
    device: Type.Optional(Type.String({ pattern: ID_PATTERN })),
    at: Type.Number({ minimum: 0, default: 0, description: 'seconds from the start when its cause happens' }),
    within: Type.Number({ exclusiveMinimum: 0, default: 10, description: 'seconds after `at` it must arrive by' }),
    absent: Type.Boolean({ default: false, description: 'true: this incident must NOT appear' }),
  },
  { additionalProperties: false },
);

export const FAULT_TYPES = ['disconnect', 'garbage', 'skew', 'duplicate', 'reorder', 'slow', 'upstream-down', 'series-down'] as const;

/** One fault; which fields it takes depends on its type (checked when the scenario loads). */
export const FaultSchema = Type.Object(
  {
    type: Type.Unsafe<(typeof FAULT_TYPES)[number]>({
      type: 'string',
      enum: [...FAULT_TYPES],
      description: `one of ${FAULT_TYPES.join(', ')}`,
    }),
    at: Type.Optional(Type.Number({ minimum: 0, description: 'seconds from the start (disconnect, garbage, upstream-down, series-down)' })),
    until: Type.Optional(Type.Number({ minimum: 0, description: 'garbage: seconds from the start it stops' })),
    seconds: Type.Optional(
      Type.Number({ description: 'disconnect, upstream-down, series-down: how long (> 0); skew: the clock error, may be negative' }),
    ),
    spread: Type.Optional(
      Type.Number({ minimum: 0, description: 'disconnect: seconds over which the devices come back (0: all at once, a reconnect storm)' }),
    ),
    rate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000, description: 'garbage: malformed payloads per second' })),
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'duplicate, reorder: chance per message' })),
    delayMs: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 60_000, description: 'slow: wait before each message' })),
    kind: Type.Optional(Type.String({ minLength: 1, description: 'only devices of this kind' })),
    grid: Type.Optional(GridCode),
    fraction: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description: 'share of the selected devices affected (chosen by the seed)',
    }),
  },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    seed: Type.Integer({ default: 1 }),
    duration: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: 'seconds the scenario runs' }),
    connectRate: Type.Number({ exclusiveMinimum: 0, default: 200, description: 'device connections per second while the fleet starts' }),
    failOnFalseAlarms: Type.Boolean({ default: true, description: 'an incident nobody expected fails the run' }),
    /** The gateway settings the expectations assume (`kinds:` in its config), printed with --print-devices. */
    gatewayKinds: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    fleet: Type.Array(FleetSchema, { minItems: 1 }),
    timeline: Type.Array(EventSchema, { default: [] }),
    faults: Type.Array(FaultSchema, { default: [] }),
    expect: Type.Array(ExpectSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export type Scenario = Static<typeof ScenarioSchema>;
export type FleetSpec = Static<typeof FleetSchema>;
export type FaultSpec = Static<typeof FaultSchema>;
