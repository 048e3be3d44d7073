/**
 * What a platform API poller (OneNET, CTWing) is made of besides its calls: a round at once,
 * then one every `everySeconds` after the last one ended (never two at a time), a stop that
 * waits for the round under way; each device's poll counted (`source_polls_total`,
 * `source_poll_failures_total`, logged without its secrets) and watched for the API's silence
 * (PollOutage); and the platform's own word on a device's state, told once per change.
 */
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import type { SourceEvent } from '../devices/sources/types.js';
import { PollOutage } from './poll-outage.js';

export interface PollLoopOptions {
  /** The source's name in counters and logs (onenet, ctwing), and the platform's ("OneNET"). */
  source: string;
  platform: string;
  everySeconds: number;
  offlineAfterFailures: number;
  emit: (ev: SourceEvent) => void;
  counters: Counters;
  log: Logger;
}

export abstract class PollLoop {
  private timer?: NodeJS.Timeout;
  protected stopped = false;
  private round?: Promise<void>;
  /** What the platform last said of each device's state. */
  private readonly online = new Map<string, boolean>();
  private readonly outage: PollOutage;

  constructor(protected readonly loop: PollLoopOptions) {
    this.outage = new PollOutage(loop.offlineAfterFailures, `${loop.platform}'s API does not answer for it`, loop.emit, (id) =>
      this.online.get(id),
    );
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round over the platform's devices. */
  protected abstract poll(): Promise<void>;

  /** One device's poll: counted, and its failures watched for the API's silence (logged under `key`: its id's name). */
  protected async polled(id: string, work: () => Promise<void>, key = 'id'): Promise<void> {
    try {
      await work();
      this.outage.answered(id);
      this.loop.counters.inc('source_polls_total', { source: this.loop.source });
    } catch (err) {
      this.outage.failed(id);
      this.failed({ [key]: id }, err);
    }
  }

  /** A failed call, counted and logged (the error's words, never a key). */
  protected failed(what: Record<string, string>, err: unknown): void {
    this.loop.counters.inc('source_poll_failures_total', { source: this.loop.source });
    this.loop.log.warn({ source: this.loop.source, ...what, err: (err as Error).message }, `${this.loop.platform} API poll failed`);
  }

  /** The platform says a device is online or not: told once per change, and held while the API itself is silent for it. */
  protected platformSays(id: string, online: boolean): void {
    if (this.online.get(id) === online) return;
    this.online.set(id, online);
    // Offline for the API's silence: the platform's own state is told once the API answers again.
    if (this.outage.isDown(id)) return;
    this.loop.emit({ type: 'availability', externalId: id, online });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.poll().finally(() => this.schedule(this.loop.everySeconds * 1000));
    }, ms);
    this.timer.unref();
  }
}
