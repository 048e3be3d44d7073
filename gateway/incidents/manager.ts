/**
 * Turns rule signals into incidents: one open incident per correlation key, repeats folded into
 * it (count, lastOccurredAt, facts), resolved when the cause goes away. Every change becomes one
 * message with the next gateway sequence number, handed to the listeners (uplink, console, log).
 */
import { monotonicFactory } from 'ulidx';
import type { DeviceInfo, IncidentSignal } from '../../devices/types.js';
import { categoryOf } from './categories.js';
import { INCIDENT_SCHEMA_ID, type IncidentMessage } from './schema.js';

export interface IncidentManagerOptions {
  gatewayId: string;
  nextSeq: () => number;
  /** Makes a message durable (the outbox); the returned promise settles when it is on disk. */
  persist?: (message: IncidentMessage) => Promise<void>;
  /** Active incidents from before a restart, so repeats keep folding into them. */
  restore?: IncidentMessage[];
  /** A listener that throws must not stop the others, nor the device message that caused it. */
  onListenerError?: (err: unknown) => void;
  now?: () => number;
  newId?: () => string;
}

export type IncidentListener = (message: IncidentMessage) => void;

const ACTIVE = new Set(['open', 'acknowledged', 'dispatched']);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class IncidentManager {
  /** Active (not yet resolved or closed) incidents by correlation key. */
  private readonly active = new Map<string, IncidentMessage>();
  private readonly listeners: IncidentListener[] = [];
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly opts: IncidentManagerOptions) {
    this.now = opts.now ?? Date.now;
    const ulid = monotonicFactory();
    this.newId = opts.newId ?? (() => ulid(this.now()));
    for (const m of opts.restore ?? []) if (ACTIVE.has(m.status)) this.active.set(m.correlationKey, m);
  }

  onMessage(listener: IncidentListener): void {
    this.listeners.push(listener);
  }

  activeIncidents(): IncidentMessage[] {
    return [...this.active.values()];
  }

  /**
   * Applies one signal. Returns the durability of the message it produced (undefined when it
   * produced none): whoever acknowledges the cause, such as the device's PUBACK, waits for it.
   */
  handle(signal: IncidentSignal, device: DeviceInfo): Promise<void> | undefined {
    const message = signal.action === 'raise' ? this.raise(signal, device) : this.resolve(signal);
    return message && this.durable.get(message);
  }

  private readonly durable = new WeakMap<IncidentMessage, Promise<void>>();

  private raise(signal: Extract<IncidentSignal, { action: 'raise' }>, device: DeviceInfo): IncidentMessage {
    const existing = this.active.get(signal.correlationKey);
    if (existing) {
      const devices = existing.devices.some((d) => d.id === device.id)
        ? existing.devices
        : [...existing.devices, deviceRef(device)];
      return this.emit({
        ...existing,
        type: 'update',
        count: existing.count + 1,
        lastOccurredAt: iso(Math.max(signal.occurredAt, Date.parse(existing.lastOccurredAt))),
        facts: { ...existing.facts, ...signal.facts },
        devices,
      });
    }
    const category = categoryOf(signal.category);
    const message: IncidentMessage = {
      schema: INCIDENT_SCHEMA_ID,
      type: 'new',
      id: this.newId(),
      seq: 0,
      revision: 0,
      gatewayId: this.opts.gatewayId,
      grid: device.grid,
      category: signal.category,
      severity: category.severity,
      status: 'open',
      occurredAt: iso(signal.occurredAt),
      lastOccurredAt: iso(signal.occurredAt),
      updatedAt: '',
      deadline: iso(signal.occurredAt + category.deadlineMinutes * 60_000),
      devices: [deviceRef(device)],
      facts: { ...signal.facts },
      evidence: [],
      correlationKey: signal.correlationKey,
      count: 1,
    };
    if (device.location) message.location = { ...device.location, ...(device.name ? { name: device.name } : {}) };
    return this.emit(message);
  }

  private resolve(signal: Extract<IncidentSignal, { action: 'resolve' }>): IncidentMessage | undefined {
    const existing = this.active.get(signal.correlationKey);
    if (!existing) return undefined; // a clear with nothing open is normal (e.g. after a self-test)
    return this.emit({
      ...existing,
      type: 'update',
      status: 'resolved',
      resolvedAt: iso(signal.occurredAt),
      facts: { ...existing.facts, resolution: signal.reason },
    });
  }

  private emit(draft: IncidentMessage): IncidentMessage {
    const message: IncidentMessage = {
      ...draft,
      seq: this.opts.nextSeq(),
      revision: draft.revision + 1,
      updatedAt: iso(this.now()),
    };
    if (ACTIVE.has(message.status)) this.active.set(message.correlationKey, message);
    else this.active.delete(message.correlationKey);
    this.durable.set(message, this.opts.persist ? this.opts.persist(message) : Promise.resolve());
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (err) {
        this.opts.onListenerError?.(err);
      }
    }
    return message;
  }
}

function deviceRef(device: DeviceInfo): IncidentMessage['devices'][number] {
  return device.name ? { id: device.id, kind: device.kind, name: device.name } : { id: device.id, kind: device.kind };
}
