/**
 * Turns rule signals into incidents: one open incident per correlation key, repeats folded into
 * it (count, lastOccurredAt, facts), resolved when the cause goes away. Every change becomes one
 * message with the next gateway sequence number, handed to the listeners (uplink, console, log).
 */
import { monotonicFactory } from 'ulidx';
import type { DeviceInfo, EvidenceInput, FieldValue, IncidentSignal } from '../../devices/types.js';
import { categoryOf, CATEGORIES, type CategoryTable } from './categories.js';
import { ACTIVE_STATUSES, escalate, TRANSITIONS, type CommandErrorCode, type CommandInput } from './lifecycle.js';
import { INCIDENT_SCHEMA_ID, type IncidentMessage } from '../../contracts/incident.js';

export interface IncidentQuery {
  status?: string;
  /** A category or a dotted prefix of one (`fire` matches `fire.smoke_alarm`). */
  category?: string;
  /** A grid code or a prefix of one (a district, a street). */
  grid?: string;
  /** ISO times bounding occurredAt. */
  since?: string;
  until?: string;
  limit?: number;
}

export type CommandResult =
  | { ok: true; message: IncidentMessage; durable: Promise<void> }
  | { ok: false; code: CommandErrorCode; error: string };

/** Resolved incidents wait for the platform's `close`; keep at most this many waiting. */
const MAX_RESOLVED = 10_000;
/** Incidents kept for queries (the platform keeps the history; this is the gateway's recent view). */
const MAX_RECENT = 10_000;
/** Folded repeats add their evidence; an incident carries at most this many pieces, newest kept. */
const MAX_EVIDENCE = 20;

export type EvidenceItem = IncidentMessage['evidence'][number];

export interface IncidentManagerOptions {
  gatewayId: string;
  nextSeq: () => number;
  /** Makes a message durable (the outbox); the returned promise settles when it is on disk. */
  persist?: (message: IncidentMessage) => Promise<void>;
  /** Incidents not yet closed from before a restart, so repeats keep folding and commands still apply. */
  restore?: IncidentMessage[];
  /** Severity, deadlines per category (defaults with the deployment's overrides). */
  categories?: CategoryTable;
  /** Stores one piece of evidence durably and returns what the incident carries for it. */
  storeEvidence?: (input: EvidenceInput) => Promise<EvidenceItem>;
  /** A listener that throws must not stop the others, nor the device message that caused it. */
  onListenerError?: (err: unknown) => void;
  /** A signal given with `submit` (nobody waits for it) that could not be stored. */
  onSubmitError?: (err: unknown, signal: IncidentSignal) => void;
  /**
   * Runs a change with the incidents to themselves (an HA pair: both nodes' changes go through a
   * lock, after catching up with what the other node wrote). Without it, changes run at once.
   */
  exclusive?: <T>(change: () => T) => Promise<T>;
  now?: () => number;
  newId?: () => string;
}

export type IncidentListener = (message: IncidentMessage) => void;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

type Handling = NonNullable<IncidentMessage['handling']>;
type Transition = NonNullable<Handling['history']>[number];
const MAX_HISTORY = 50;

/** The incident's handling with one more transition kept (the oldest go beyond the last 50). */
function withHistory(m: IncidentMessage, t: Transition): Handling {
  const history = [...(m.handling?.history ?? []), t].slice(-MAX_HISTORY);
  return { ...m.handling, history };
}

export class IncidentManager {
  /** Active (open, acknowledged, dispatched) incidents by correlation key: where repeats fold. */
  private readonly active = new Map<string, IncidentMessage>();
  /** Every incident not yet closed, by id: what commands apply to. */
  private readonly live = new Map<string, IncidentMessage>();
  /** The latest message of recent incidents, closed ones too, for queries (bounded, oldest change out first). */
  private readonly recent = new Map<string, IncidentMessage>();
  private readonly listeners: IncidentListener[] = [];
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly categories: CategoryTable;

  constructor(private readonly opts: IncidentManagerOptions) {
    this.now = opts.now ?? Date.now;
    this.categories = opts.categories ?? CATEGORIES;
    const ulid = monotonicFactory();
    this.newId = opts.newId ?? (() => ulid(this.now()));
    for (const m of opts.restore ?? []) this.track(m);
  }

  /** Returns a function that stops the listening (the console's live feed closes, for one). */
  onMessage(listener: IncidentListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  activeIncidents(): IncidentMessage[] {
    return [...this.active.values()];
  }

  incident(id: string): IncidentMessage | undefined {
    return this.live.get(id);
  }

  /**
   * Takes in a message another node of an HA pair made, so repeats fold into it and commands
   * apply to it here too. Older revisions than the one known are ignored.
   */
  observe(m: IncidentMessage): void {
    const known = this.recent.get(m.id);
    if (known && known.revision >= m.revision) return;
    this.track(m);
  }

  /** A change, run at once or, in an HA pair, with the incidents to itself. */
  private within<T>(change: () => T): T | Promise<T> {
    return this.opts.exclusive ? this.opts.exclusive(change) : change();
  }

  /** `within` for a change that returns its message's durability: one promise to wait on either way. */
  private withinDurable(change: () => Promise<void> | undefined): Promise<void> | undefined {
    if (!this.opts.exclusive) return change();
    return this.opts.exclusive(change).then(async (durable) => {
      await durable;
    });
  }

  /** Recent incidents (closed ones too), newest change first, filtered. */
  query(q: IncidentQuery = {}): IncidentMessage[] {
    const out: IncidentMessage[] = [];
    const since = q.since ? Date.parse(q.since) : -Infinity;
    const until = q.until ? Date.parse(q.until) : Infinity;
    for (const m of [...this.recent.values()].reverse()) {
      if (q.status && m.status !== q.status) continue;
      if (q.category && m.category !== q.category && !m.category.startsWith(`${q.category}.`)) continue;
      if (q.grid && !m.grid.startsWith(q.grid)) continue;
      const at = Date.parse(m.occurredAt);
      if (at < since || at > until) continue;
      out.push(m);
      if (out.length >= (q.limit ?? 100)) break;
    }
    return out;
  }

  /** The latest message of a recent incident, closed or not. */
  recentIncident(id: string): IncidentMessage | undefined {
    return this.recent.get(id);
  }

  /** Whether an incident with this correlation key is open, acknowledged or dispatched. */
  isActive(correlationKey: string): boolean {
    return this.active.has(correlationKey);
  }

  /**
   * Adds facts (and evidence, stored first) to the active incident with this key, without
   * counting a repeat: a command's outcome, a snapshot that arrived after the alarm.
   */
  annotate(correlationKey: string, facts: Record<string, FieldValue>, evidence: EvidenceInput[] = []): Promise<void> | undefined {
    const apply = (items: EvidenceItem[]) => {
      const current = this.active.get(correlationKey);
      if (!current) return undefined;
      const message = this.emit({
        ...current,
        type: 'update',
        facts: { ...current.facts, ...facts },
        evidence: items.length ? mergeEvidence(current.evidence, items) : current.evidence,
      });
      return this.durable.get(message);
    };
    if (!this.active.has(correlationKey)) return undefined;
    if (evidence.length === 0) return this.withinDurable(() => apply([]));
    const store = this.opts.storeEvidence;
    if (!store) throw new Error('evidence given but this gateway has no evidence store');
    return Promise.all(evidence.map(store)).then((items) => this.withinDurable(() => apply(items)));
  }

  /** Applies a platform command as `command` does, with the incidents to itself in an HA pair. */
  async runCommand(input: CommandInput): Promise<CommandResult> {
    return this.within(() => this.command(input));
  }

  /** Applies a platform command (ack, dispatch, resolve, close) if the incident's status allows it. */
  command(input: CommandInput): CommandResult {
    const current = this.live.get(input.incidentId);
    if (!current) return { ok: false, code: 'not_found', error: `no incident ${input.incidentId} that is not yet closed` };
    const rule = TRANSITIONS[input.command];
    if (!rule.from.includes(current.status)) {
      return {
        ok: false,
        code: 'invalid_transition',
        error: `cannot ${input.command} an incident that is ${current.status} (${input.command} needs ${rule.from.join(' or ')})`,
      };
    }
    if (input.command === 'dispatch' && !input.assignee) return { ok: false, code: 'malformed', error: 'dispatch needs an assignee' };
    const at = iso(this.now());
    const handling = withHistory(current, {
      command: input.command,
      at,
      from: current.status,
      to: rule.to,
      ...(input.by ? { by: input.by } : {}),
      ...(input.assignee ? { assignee: input.assignee } : {}),
      ...(input.note ? { note: input.note } : {}),
    });
    if (input.note) handling.note = input.note;
    switch (input.command) {
      case 'ack':
        handling.acknowledgedAt = at;
        if (input.by) handling.acknowledgedBy = input.by;
        break;
      case 'dispatch':
        handling.dispatchedAt = at;
        handling.assignee = input.assignee;
        if (input.by) handling.dispatchedBy = input.by;
        else delete handling.dispatchedBy;
        break;
      case 'resolve':
        if (input.by) handling.resolvedBy = input.by;
        break;
      case 'close':
        handling.closedAt = at;
        if (input.by) handling.closedBy = input.by;
        break;
    }
    const message = this.emit({
      ...current,
      type: rule.to === 'closed' ? 'end' : 'update',
      status: rule.to,
      ...(rule.to === 'resolved' ? { resolvedAt: at } : {}),
      handling,
    });
    return { ok: true, message, durable: this.durable.get(message) ?? Promise.resolve() };
  }

  /**
   * Reminds (提醒) about incidents not acknowledged in their category's time and escalates (督办)
   * those past their deadline: severity one step up, flagged. Each happens once per incident.
   */
  checkDeadlines(): IncidentMessage[] {
    const now = this.now();
    const out: IncidentMessage[] = [];
    for (const m of [...this.active.values()]) {
      const category = categoryOf(m.category, this.categories);
      const flags = new Set(m.flags ?? []);
      const occurred = Date.parse(m.occurredAt);
      if (!flags.has('overdue') && now >= Date.parse(m.deadline)) {
        flags.add('overdue');
        flags.add('escalated');
        out.push(
          this.emit({
            ...m,
            type: 'update',
            severity: escalate(m.severity),
            flags: [...flags],
            handling: { ...m.handling, escalatedAt: iso(now) },
          }),
        );
      } else if (m.status === 'open' && !flags.has('reminder') && now >= occurred + category.ackWithinMinutes * 60_000) {
        flags.add('reminder');
        out.push(this.emit({ ...m, type: 'update', flags: [...flags], handling: { ...m.handling, remindedAt: iso(now) } }));
      }
    }
    return out;
  }

  /**
   * Applies one signal. Returns the durability of the message it produced (undefined when it
   * produced none): whoever acknowledges the cause, such as the device's PUBACK, waits for it.
   */
  handle(signal: IncidentSignal, device: DeviceInfo): Promise<void> | undefined {
    if (signal.action === 'raise' && signal.evidence?.length) {
      // Evidence first: no consumer may see an incident whose image is not stored yet.
      const store = this.opts.storeEvidence;
      if (!store) throw new Error('a rule attached evidence but this gateway has no evidence store');
      return Promise.all(signal.evidence.map(store)).then((items) =>
        this.withinDurable(() => {
          const message = this.raise(signal, device, items);
          return message && this.durable.get(message);
        }),
      );
    }
    return this.withinDurable(() => {
      const message = signal.action === 'raise' ? this.raise(signal, device) : this.resolve(signal);
      return message && this.durable.get(message);
    });
  }

  /**
   * `handle` for a cause nobody acknowledges (a heartbeat check, a camera's event, a device
   * seen again): its failure to be stored (the HA pair's Redis away, the disk full) is reported
   * through `onSubmitError`, never left as an unhandled rejection that ends the process. The
   * cause stands, so the next check or sighting tries again.
   */
  submit(signal: IncidentSignal, device: DeviceInfo): void {
    let p: Promise<void> | undefined;
    try {
      p = this.handle(signal, device);
    } catch (err) {
      this.opts.onSubmitError?.(err, signal);
      return;
    }
    p?.catch((err: unknown) => this.opts.onSubmitError?.(err, signal));
  }

  private readonly durable = new WeakMap<IncidentMessage, Promise<void>>();

  /**
   * Opens an incident or folds a repeat into it; undefined when the signal is an occurrence the
   * incident already holds. Under at-least-once delivery a device sends a message again when it
   * got no PUBACK (the gateway restarted before it went out): with the device's own timestamp it
   * carries the very instant the incident's latest occurrence has, and counting it would count
   * one alarm twice.
   */
  private raise(
    signal: Extract<IncidentSignal, { action: 'raise' }>,
    device: DeviceInfo,
    evidence: EvidenceItem[] = [],
  ): IncidentMessage | undefined {
    const existing = this.active.get(signal.correlationKey);
    if (existing && signal.occurredAt === Date.parse(existing.lastOccurredAt) && !evidence.length) return undefined;
    if (existing) {
      const devices = existing.devices.some((d) => d.id === device.id) ? existing.devices : [...existing.devices, deviceRef(device)];
      return this.emit({
        ...existing,
        type: 'update',
        count: existing.count + 1,
        lastOccurredAt: iso(Math.max(signal.occurredAt, Date.parse(existing.lastOccurredAt))),
        facts: { ...existing.facts, ...signal.facts },
        devices,
        evidence: evidence.length ? mergeEvidence(existing.evidence, evidence) : existing.evidence,
      });
    }
    const category = categoryOf(signal.category, this.categories);
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
      evidence,
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
      handling: withHistory(existing, {
        command: 'resolve',
        at: iso(signal.occurredAt),
        from: existing.status,
        to: 'resolved',
        by: 'device',
        note: signal.reason.slice(0, 500),
      }),
    });
  }

  private track(m: IncidentMessage): void {
    this.recent.delete(m.id);
    this.recent.set(m.id, m);
    if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.keys().next().value!);
    if (ACTIVE_STATUSES.has(m.status)) this.active.set(m.correlationKey, m);
    else if (this.active.get(m.correlationKey)?.id === m.id) this.active.delete(m.correlationKey);
    this.live.delete(m.id); // re-insert: the Map's order is then oldest change first
    if (m.status !== 'closed') this.live.set(m.id, m);
    if (this.live.size > this.active.size + MAX_RESOLVED) {
      for (const [id, old] of this.live) {
        if (old.status === 'resolved') {
          this.live.delete(id);
          break;
        }
      }
    }
  }

  private emit(draft: IncidentMessage): IncidentMessage {
    const message: IncidentMessage = {
      ...draft,
      seq: this.opts.nextSeq(),
      revision: draft.revision + 1,
      updatedAt: iso(this.now()),
    };
    this.track(message);
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

function mergeEvidence(old: EvidenceItem[], added: EvidenceItem[]): EvidenceItem[] {
  const fresh = new Set(added.map((e) => e.sha256));
  return [...old.filter((e) => !fresh.has(e.sha256)), ...added].slice(-MAX_EVIDENCE);
}

function deviceRef(device: DeviceInfo): IncidentMessage['devices'][number] {
  return device.name ? { id: device.id, kind: device.kind, name: device.name } : { id: device.id, kind: device.kind };
}
