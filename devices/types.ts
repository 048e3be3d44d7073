/**
 * The contract between the gateway and a device kind. A kind is data plus two pure functions:
 * `decode` turns one MQTT message into normalized messages, `rules` turns one normalized message
 * into incident signals. Everything else (ACLs, routing, storage, incident life) is derived from it.
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

export type Normalized = Reading | DeviceEvent | StatusChange;

/** Why a message was refused; counted per device and reason, so keep the set small and stable. */
export type RejectReason =
  | 'malformed_json'
  | 'schema'
  | 'unknown_channel'
  | 'too_large'
  /** The codec or a rule threw: a bug of ours, but still only this message is lost. */
  | 'codec_error';

export type DecodeResult =
  | { ok: true; messages: Normalized[] }
  | { ok: false; reason: RejectReason; detail: string };

export type Severity = 'info' | 'minor' | 'major' | 'critical';

/** Evidence classes: each has its own retention (faces and plates are personal data). */
export type EvidenceClass = 'face' | 'plate' | 'person' | 'vehicle' | 'scene' | 'snapshot';

/** An image a rule wants attached to the incident it raises; stored before the incident is. */
export interface EvidenceInput {
  bytes: Buffer;
  class: EvidenceClass;
  mime: string;
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

export interface DeviceKind {
  /** Registry key, used in config (`devices[].kind`). */
  kind: string;
  description: string;
  /**
   * The topics this kind publishes, by channel name, with `{id}` standing for the device id.
   * The broker derives each device's publish ACL from these; nothing else may be published.
   */
  publishes: Record<string, string>;
  /** Topic filters the device may subscribe to, with `{id}` for its id. */
  subscribes: string[];
  /** One MQTT message on one of `publishes`' channels into normalized messages, or a rejection. */
  decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult;
  /** What incidents one normalized message raises or resolves. Pure: no I/O, no clocks. */
  rules(message: Normalized, device: DeviceInfo): IncidentSignal[];
}
