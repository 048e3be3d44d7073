/**
 * Device models: how one vendor's product, reaching the gateway through a source (sources/),
 * maps onto one of gridedge's kinds, in the manner of zigbee2mqtt's converters. A model turns
 * what its source delivers (zigbee2mqtt's JSON state, a LoRaWAN frame's bytes) into the kind's
 * own messages (`{channel, payload}` as the kind's page documents them), so the kind's codec,
 * rules, incidents and series apply unchanged; and, where the product takes commands, a kind's
 * command (a gas valve to shut) into what the source sends down. One file per model, one line
 * in registry.ts; a field engineer adds a product the same way (docs/sources.md).
 */
export type SourceName = 'zigbee2mqtt' | 'chirpstack' | 'onenet' | 'ctwing' | 'modbus';

/** What a source hands a model: parsed JSON (zigbee2mqtt), or a frame's bytes and port (LoRaWAN). */
export interface ModelInput {
  json?: Record<string, unknown>;
  bytes?: Buffer;
  fPort?: number;
  /** When the source says it was sent (ms), if it does. */
  ts?: number;
  /** Modbus: the registers the model's map reads (`modbus`), and which channel of the controller this device is. */
  registers?: number[];
  channel?: number;
}

/** One message of the kind's, as if the device had published it on `dev/{id}/{channel}`. */
export interface KindMessage {
  channel: string;
  payload: Record<string, unknown>;
}

/** What goes down to the device through the source. */
export interface Downlink {
  /** LoRaWAN: the port and bytes of the frame. */
  fPort?: number;
  bytes?: Buffer;
  /** zigbee2mqtt: the state to set (`…/set`). */
  json?: Record<string, unknown>;
  /** Modbus: a coil to write (a valve output). */
  coil?: { address: number; value: boolean };
}

export class ModelDecodeError extends Error {}

export interface DeviceModel {
  /** Registry key: `devices[].source.model`. */
  readonly model: string;
  readonly vendor: string;
  readonly description: string;
  readonly source: SourceName;
  /** The gridedge kind it maps onto (`devices[].kind` must be this). */
  readonly kind: string;
  /** Modbus: the block of registers one poll reads for every channel of the controller. */
  readonly modbus?: { table: 'input' | 'holding'; address: number; count: number; channels: number };
  /** zigbee2mqtt: the `definition.model` values of bridge/devices this model is (for adoption). */
  readonly matches?: readonly string[];
  /** The source's message into the kind's messages; throws ModelDecodeError with the reason. */
  decode(input: ModelInput): KindMessage[];
  /** A kind's command payload (e.g. `{"cmd":"valve_close","id":…}`) into a downlink, or undefined when the model has none for it. */
  encode?(command: Record<string, unknown>): Downlink | undefined;
  /** Example inputs for the docs and the contract suite: what the device sends, and what it must become. */
  readonly examples: ReadonlyArray<{ input: ModelInput; expect: KindMessage[] }>;
}

export function defineModel(m: DeviceModel): DeviceModel {
  return m;
}

/**
 * A number as a platform sends one: a JSON number, or a decimal in a string ("76", " 4.5 ").
 * Anything else is undefined, not coerced: `Number(null)` is 0 and `Number(true)` is 1 (a
 * battery of 0 % from a missing value), and `Number()` of an object runs the object's own
 * `toString`, which a hostile payload can make throw.
 */
export function numeric(v: unknown): number | undefined {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

/** Reads one byte, with the model's own error when the frame is too short. */
export function byteAt(bytes: Buffer, i: number, what: string): number {
  const b = bytes[i];
  if (b === undefined) throw new ModelDecodeError(`frame of ${bytes.length} bytes has no ${what} (byte ${i})`);
  return b;
}
