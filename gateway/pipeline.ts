/**
 * The ingest path, called synchronously by the broker for every accepted device message:
 * decode and validate (the kind's codec) → readings and events to the series sink (buffered,
 * never awaited) → the kind's rules → incidents, commands to devices. No disk I/O and no
 * awaiting here: this runs before each PUBACK.
 */
import { createHash } from 'node:crypto';
import type { Delivery, DeviceSession } from '../broker/broker.js';
import type { Capture, DeviceInfo, EvidenceInput, Normalized, RuleOutput, Rules } from '../devices/types.js';
import type { DeviceCommands } from './device-commands.js';
import type { HeartbeatMonitor } from './heartbeats.js';
import type { IncidentManager } from './incidents/manager.js';
import type { Logger } from '../core/log.js';
import type { RejectionLog } from './rejections.js';
import { counterKey, type Counters } from '../core/counters.js';
import { toLine, type SeriesSink } from './timeseries/sink.js';
import { maskUrl } from '../core/secrets.js';

export interface DeviceState {
  online: boolean;
  lastSeen?: number;
  messages: number;
  lastValues: Record<string, number | boolean | string>;
  /** The kind's rule memory for this device (hysteresis and the like). */
  rules: Record<string, unknown>;
  /** `rules` as last shared with the other node of an HA pair. */
  sharedRules?: string;
  /** Its last QoS 1/2 messages (packet id and payload digest), to recognise one sent again (DUP). */
  recent: string[];
}

/** Asks the cameras of a grid cell for snapshots (the camera stage answers). */
export interface SnapshotProvider {
  forDevice(device: DeviceInfo): Promise<EvidenceInput[]>;
}

export interface PipelineDeps {
  sink: SeriesSink;
  incidents: IncidentManager;
  rejections: RejectionLog;
  counters: Counters;
  rules: ReadonlyMap<string, Rules>;
  commands: DeviceCommands;
  heartbeats: HeartbeatMonitor;
  log: Logger;
  snapshots?: SnapshotProvider;
  /** A device announced live video (a drone): the cameras take it as a source. */
  onVideoSource?: (source: VideoSource) => void;
  /** A device said its live video stopped (a dock's flight task ended). */
  onVideoSourceEnd?: (source: VideoSource) => void;
  /** Stores a capture's image as evidence (and sends it on as a capture); resolves to its sha256. */
  storeCapture(capture: Capture, device: DeviceInfo): Promise<string>;
  /**
   * An HA pair: stores a device's rule memory where the other node can read it. The device's
   * PUBACK waits for it, so a device that moves to the other node finds its state there.
   */
  shareRules?: (deviceId: string, json: string) => Promise<void>;
}

export interface VideoSource {
  deviceId: string;
  grid: string;
  url: string;
  since: string;
}

/**
 * A QoS 1/2 message by packet id and payload: a device sends it again, marked DUP, when its PUBACK
 * was lost [MQTT-4.3.2]; a message without DUP is always new (devices repeat payloads).
 */
function deliveryKey(delivery: Delivery, payload: Buffer): string | undefined {
  if (delivery.qos === 0 || delivery.messageId === undefined) return undefined;
  return `${delivery.messageId}:${payload.length}:${createHash('sha1').update(payload).digest('base64')}`;
}

export class Pipeline {
  private readonly state = new Map<string, DeviceState>();
  /** Live video devices offer (drones): where the cameras will pull frames from. */
  readonly videoSources = new Map<string, VideoSource>();
  private readonly inKeys = new Map<string, string>();

  constructor(private readonly deps: PipelineDeps) {}

  deviceState(id: string): DeviceState {
    let s = this.state.get(id);
    if (!s) {
      s = { online: false, messages: 0, lastValues: {}, rules: {}, recent: [] };
      this.state.set(id, s);
    }
    return s;
  }

  /**
   * Returns a promise when the message raised or changed an incident: it settles once that
   * incident is on disk, and the device's PUBACK waits for it. Plain readings return nothing.
   */
  handle(session: DeviceSession, channel: string, payload: Buffer, receivedAt: number, delivery?: Delivery): Promise<void> | undefined {
    const { device, kind } = session;
    const { counters, rejections } = this.deps;
    const redelivery = delivery && deliveryKey(delivery, payload);
    if (redelivery && delivery.dup && this.deviceState(device.id).recent.includes(redelivery)) {
      counters.inc('messages_redelivered_total', { kind: kind.kind });
      return undefined; // handled already: it gets its PUBACK, nothing runs twice
    }
    let key = this.inKeys.get(kind.kind);
    if (!key) {
      key = counterKey('messages_in_total', { kind: kind.kind });
      this.inKeys.set(kind.kind, key);
    }
    counters.incKey(key);
    const state = this.deviceState(device.id);
    state.lastSeen = receivedAt;
    state.messages++;
    this.deps.heartbeats.seen(device, receivedAt);

    let messages: Normalized[];
    try {
      const result = kind.decode(channel, payload, { device, receivedAt });
      if (!result.ok) {
        rejections.record(device.id, kind.kind, channel, result.reason, result.detail, payload);
        return undefined;
      }
      messages = result.messages;
    } catch (err) {
      rejections.record(device.id, kind.kind, channel, 'codec_error', (err as Error).message, payload);
      return undefined;
    }
    let durable: Array<Promise<void>> | undefined;
    for (const message of messages) {
      for (const p of this.accept(session, message, state, payload, channel)) {
        durable ??= [];
        durable.push(p);
      }
    }
    // Remembered once handled (stored, for what raised an incident): one that failed must run again when resent.
    const handled = () => {
      if (!redelivery) return;
      state.recent.push(redelivery);
      if (state.recent.length > 32) state.recent.shift();
    };
    if (!durable) return void handled();
    return (durable.length === 1 ? durable[0]! : Promise.all(durable)).then(handled);
  }

  /** Messages a kind decoded itself (HTTP uploads): same series, rules and incidents as MQTT. */
  ingest(session: DeviceSession, messages: Normalized[], receivedAt: number): Promise<void> {
    const state = this.deviceState(session.device.id);
    state.lastSeen = receivedAt;
    state.messages += messages.length;
    this.deps.heartbeats.seen(session.device, receivedAt);
    this.deps.counters.inc('messages_in_total', { kind: session.kind.kind }, messages.length);
    const durable = messages.flatMap((m) => this.accept(session, m, state, Buffer.alloc(0), 'http'));
    return Promise.all(durable).then(() => undefined);
  }

  /** A device's rule memory as the other node of an HA pair left it: taken before the device's CONNACK. */
  restoreRules(deviceId: string, rules: Record<string, unknown> | undefined): void {
    if (!rules) return;
    const s = this.deviceState(deviceId);
    s.rules = rules;
    s.sharedRules = JSON.stringify(rules);
  }

  presence(device: DeviceInfo, connected: boolean): void {
    this.deviceState(device.id).online = connected;
  }

  private accept(session: DeviceSession, message: Normalized, state: DeviceState, payload: Buffer, channel: string): Array<Promise<void>> {
    if (message.type === 'capture' && !message.sha256) {
      // The image is evidence before it is anything else: stored first, then recorded and judged.
      const stored = this.deps
        .storeCapture(message, session.device)
        .then((sha256) => Promise.all(this.accept(session, { ...message, sha256 }, state, payload, channel)).then(() => undefined));
      return [stored];
    }
    const { device, kind } = session;
    const { sink, rejections } = this.deps;
    const tags = { grid: device.grid, device: device.id, kind: kind.kind };
    switch (message.type) {
      case 'capture': {
        const fields: Record<string, string | number> = { sha256: message.sha256!, subject: message.subject };
        if (message.plate) fields.plate = message.plate;
        if (message.plateColor) fields.plate_color = message.plateColor;
        if (message.confidence !== undefined) fields.confidence = message.confidence;
        if (message.direction) fields.direction = message.direction;
        sink.writeLine(toLine({ measurement: 'capture', tags: { ...tags, subject: message.subject }, fields, ts: message.ts }));
        break;
      }
      case 'reading':
        sink.writeLine(toLine({ measurement: message.measurement, tags, fields: message.fields, ts: message.ts }));
        Object.assign(state.lastValues, message.fields);
        break;
      case 'event':
        // Every device event is a point too, so the series tell the whole story (self-tests included).
        sink.writeLine(
          toLine({
            measurement: 'device_event',
            tags: { ...tags, event: message.event },
            fields: { count: 1, ...message.data },
            ts: message.ts,
          }),
        );
        break;
      case 'status':
        state.online = message.online;
        break;
      case 'reply':
        this.deps.commands.reply(device.id, message);
        break;
    }
    const rules = this.deps.rules.get(kind.kind);
    if (!rules) return [];
    const durable: Array<Promise<void>> = [];
    try {
      for (const out of rules(message, { device, options: session.options, state: state.rules })) {
        const p = this.apply(session, out);
        if (p) durable.push(p);
      }
    } catch (err) {
      rejections.record(device.id, kind.kind, channel, 'codec_error', `rule failed: ${(err as Error).message}`, payload);
    }
    const share = this.deps.shareRules;
    if (share) {
      const json = JSON.stringify(state.rules);
      if (json !== (state.sharedRules ?? '{}')) {
        state.sharedRules = json;
        durable.push(share(device.id, json));
      }
    }
    return durable;
  }

  private apply(session: DeviceSession, out: RuleOutput): Promise<void> | undefined {
    const { device, kind } = session;
    const { incidents } = this.deps;
    switch (out.action) {
      case 'raise': {
        const durable = incidents.handle(out, device);
        const snapshots = this.deps.snapshots;
        if (out.snapshotOfCell && snapshots) {
          // After the incident, not before: an alarm must not wait for a camera.
          void snapshots.forDevice(device).then(
            (evidence) => (evidence.length ? incidents.annotate(out.correlationKey, {}, evidence) : undefined),
            (err: unknown) =>
              this.deps.log.warn({ device: device.id, err: (err as Error).message }, "snapshot for the device's cameras failed"),
          );
        }
        return durable;
      }
      case 'resolve':
        return incidents.handle(out, device);
      case 'annotate':
        return incidents.annotate(out.correlationKey, out.facts);
      case 'video_source': {
        const known = this.videoSources.get(device.id);
        if (!out.url) {
          if (known) {
            this.videoSources.delete(device.id);
            this.deps.onVideoSourceEnd?.(known);
            this.deps.log.info({ device: device.id }, 'video source ended');
          }
          return undefined;
        }
        if (known?.url !== out.url) {
          const source = { deviceId: device.id, grid: device.grid, url: out.url, since: new Date().toISOString() };
          this.videoSources.set(device.id, source);
          this.deps.onVideoSource?.(source);
          this.deps.log.info({ device: device.id, url: maskUrl(out.url) }, 'video source announced');
        }
        return undefined;
      }
      case 'record':
        this.deps.sink.writeLine(
          toLine({
            measurement: out.measurement,
            tags: { grid: device.grid, device: device.id, kind: kind.kind, ...out.tags },
            fields: out.fields,
            ts: out.ts,
          }),
        );
        return undefined;
      case 'send':
        this.deps.commands.send(device, kind, out);
        return undefined;
    }
  }
}
