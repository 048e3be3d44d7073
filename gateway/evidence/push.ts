/**
 * Evidence pushed to the centre through a sink (sinks/): each object referenced by an incident,
 * capture or snapshot reply is queued durably *before* the message naming it is stored, so the
 * message can say where the object will be; the queue then delivers it at least once, in order,
 * across outages and restarts, within its bounds (`evidence.push.maxPendingMB`,
 * `maxPendingHours`: the oldest goes first, counted and logged). An object whose bytes are gone
 * from the store (retention, a purge) is dropped as undeliverable, never retried for ever.
 */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import { DeliveryQueue, type DeliveryQueueStats, Undeliverable } from '../../core/delivery-queue.js';
import type { Logger } from '../../core/log.js';
import type { EvidenceLocation, EvidenceObject, EvidenceSink } from './sinks/index.js';
import { extensionOf } from './sinks/types.js';
import type { EvidenceRef, EvidenceStore } from './store.js';

export interface EvidencePushStats extends DeliveryQueueStats {
  sink: EvidenceLocation['sink'];
}

export class EvidencePush {
  private readonly queue: DeliveryQueue<EvidenceObject>;

  constructor(
    private readonly sink: EvidenceSink,
    private readonly opts: {
      dir: string;
      store: EvidenceStore;
      keyPrefix: string;
      gatewayId: string;
      maxPendingMB: number;
      maxPendingHours: number;
      counters: Counters;
      log: Logger;
    },
  ) {
    const { counters, log } = opts;
    const labels = { sink: sink.type };
    this.queue = new DeliveryQueue<EvidenceObject>({
      dir: path.join(opts.dir),
      maxBytes: opts.maxPendingMB * 1024 * 1024,
      maxAgeMs: opts.maxPendingHours * 3600_000,
      deliver: async (object) => {
        const stored = await opts.store.get(object.sha256);
        if (!stored) throw new Undeliverable('no longer in the evidence store (past its retention, or purged)');
        await sink.deliver(object, stored.bytes);
      },
      onDelivered: (object) => {
        counters.inc('evidence_pushed_total', labels);
        counters.inc('evidence_pushed_bytes_total', labels, object.bytes);
      },
      onDrop: (object, reason, why) => {
        counters.inc('evidence_push_dropped_total', { ...labels, reason });
        log.warn({ sha256: object.sha256, class: object.class, reason, why }, 'evidence dropped before it reached the centre');
      },
      onError: (object, err, attempt) => {
        counters.inc('evidence_push_errors_total', labels);
        // Every attempt counted; logged on the first and then every tenth, so an outage does not flood the log.
        if (attempt === 1 || attempt % 10 === 0)
          log.warn({ sha256: object.sha256, attempt, err: err.message }, 'evidence push failed; retrying');
      },
    });
    if (this.queue.corrupt) log.error({ files: this.queue.corrupt, dir: opts.dir }, 'unreadable evidence push jobs set aside (*.corrupt)');
  }

  get type(): EvidenceLocation['sink'] {
    return this.sink.type;
  }

  /** Queues one stored object durably; resolves to where the centre will find it. */
  async enqueue(ref: EvidenceRef, camera?: string): Promise<EvidenceLocation> {
    const object: EvidenceObject = {
      sha256: ref.sha256,
      class: ref.class,
      mime: ref.mime,
      bytes: ref.bytes,
      ...(camera ? { camera } : {}),
      storedAt: Date.now(),
      key: `${this.opts.keyPrefix}${this.opts.gatewayId}/${ref.sha256}${extensionOf(ref.mime)}`,
    };
    await this.queue.put(object, ref.bytes);
    this.opts.counters.inc('evidence_push_queued_total', { sink: this.sink.type });
    return this.sink.locate(object);
  }

  start(): void {
    this.queue.start();
  }

  /** The sink may be reachable again (the uplink connected). */
  wake(): void {
    this.queue.wake();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Takes objects out of the queue (a purge); returns how many. */
  remove(sha256s: ReadonlySet<string>): Promise<number> {
    return this.queue.remove((o) => sha256s.has(o.sha256));
  }

  stats(): EvidencePushStats {
    return { sink: this.sink.type, ...this.queue.stats() };
  }

  async stop(): Promise<void> {
    this.queue.stop();
    await this.sink.close?.();
  }
}
