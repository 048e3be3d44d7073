/**
 * The ingest path, called synchronously by the broker for every accepted device message:
 * decode and validate (the kind's codec) → readings to the series sink (buffered, never awaited)
 * → rules → incidents. No disk I/O and no awaiting here: this runs before each PUBACK.
 */
import type { DeviceSession } from '../broker/broker.js';
import type { DeviceInfo, Normalized } from '../devices/types.js';
import type { IncidentManager } from './incidents/manager.js';
import type { RejectionLog } from './rejections.js';
import { counterKey, type Counters } from './stats.js';
import { toLine, type SeriesSink } from './timeseries/sink.js';

export interface DeviceState {
  online: boolean;
  lastSeen?: number;
  messages: number;
  lastValues: Record<string, number | boolean | string>;
}

export class Pipeline {
  private readonly state = new Map<string, DeviceState>();
  private readonly inKeys = new Map<string, string>();

  constructor(
    private readonly sink: SeriesSink,
    private readonly incidents: IncidentManager,
    private readonly rejections: RejectionLog,
    private readonly counters: Counters,
  ) {}

  deviceState(id: string): DeviceState {
    let s = this.state.get(id);
    if (!s) {
      s = { online: false, messages: 0, lastValues: {} };
      this.state.set(id, s);
    }
    return s;
  }

  /**
   * Returns a promise when the message raised or changed an incident: it settles once that
   * incident is on disk, and the device's PUBACK waits for it. Plain readings return nothing.
   */
  handle(session: DeviceSession, channel: string, payload: Buffer, receivedAt: number): Promise<void> | undefined {
    const { device, kind } = session;
    let key = this.inKeys.get(kind.kind);
    if (!key) {
      key = counterKey('messages_in_total', { kind: kind.kind });
      this.inKeys.set(kind.kind, key);
    }
    this.counters.incKey(key);
    const state = this.deviceState(device.id);
    state.lastSeen = receivedAt;
    state.messages++;

    let messages: Normalized[];
    try {
      const result = kind.decode(channel, payload, { device, receivedAt });
      if (!result.ok) {
        this.rejections.record(device.id, kind.kind, channel, result.reason, result.detail, payload);
        return undefined;
      }
      messages = result.messages;
    } catch (err) {
      this.rejections.record(device.id, kind.kind, channel, 'codec_error', (err as Error).message, payload);
      return undefined;
    }
    let durable: Array<Promise<void>> | undefined;
    for (const message of messages) {
      for (const p of this.accept(session, message, state, payload, channel)) (durable ??= []).push(p);
    }
    if (!durable) return undefined;
    return durable.length === 1 ? durable[0] : Promise.all(durable).then(() => undefined);
  }

  presence(device: DeviceInfo, connected: boolean): void {
    this.deviceState(device.id).online = connected;
  }

  private accept(session: DeviceSession, message: Normalized, state: DeviceState, payload: Buffer, channel: string): Array<Promise<void>> {
    const { device, kind } = session;
    if (message.type === 'reading') {
      this.sink.writeLine(
        toLine({ measurement: message.measurement, tags: { grid: device.grid, device: device.id, kind: kind.kind }, fields: message.fields, ts: message.ts }),
      );
      Object.assign(state.lastValues, message.fields);
    } else if (message.type === 'status') {
      state.online = message.online;
    }
    const durable: Array<Promise<void>> = [];
    try {
      for (const signal of kind.rules(message, device)) {
        const p = this.incidents.handle(signal, device);
        if (p) durable.push(p);
      }
    } catch (err) {
      this.rejections.record(device.id, kind.kind, channel, 'codec_error', `rule failed: ${(err as Error).message}`, payload);
    }
    return durable;
  }
}
