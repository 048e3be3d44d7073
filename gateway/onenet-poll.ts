/**
 * OneNET's API, polled (sources.onenet.poll) for sites OneNET's push cannot reach: every
 * `everySeconds`, each OneNET device's id is looked up by IMEI once (getbyimei, which also says
 * whether it is online), then its data streams are read and what is new goes to its model like
 * a pushed data point (devices/sources/onenet.ts has the wire format). Failures are counted and
 * logged without the key; a device whose lookups keep failing is tried again on the next round.
 */
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import { datastreamEvents, type OnenetPollSettings } from '../devices/sources/onenet.js';
import type { SourceEvent } from '../devices/sources/types.js';
import { PollLoop } from './poll-loop.js';
import { PollOutage } from './poll-outage.js';

export class OnenetPoller extends PollLoop {
  private readonly ids = new Map<string, string>();
  private readonly seen = new Map<string, Map<string, string>>();
  private readonly online = new Map<string, boolean>();
  private readonly outage: PollOutage;

  constructor(
    private readonly settings: OnenetPollSettings & { apiKey: string },
    private readonly imeis: () => string[],
    private readonly emit: (ev: SourceEvent) => void,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {
    super(settings.everySeconds);
    this.outage = new PollOutage(settings.offlineAfterFailures, "OneNET's API does not answer for it", emit, (id) => this.online.get(id));
  }

  /** One round over every device, one at a time (OneNET limits calls per second per key). */
  protected async poll(): Promise<void> {
    for (const imei of this.imeis()) {
      if (this.stopped) return;
      try {
        await this.device(imei);
        this.outage.answered(imei);
        this.counters.inc('source_polls_total', { source: 'onenet' });
      } catch (err) {
        this.outage.failed(imei);
        this.counters.inc('source_poll_failures_total', { source: 'onenet' });
        this.log.warn({ source: 'onenet', imei, err: (err as Error).message }, 'OneNET API poll failed');
      }
    }
  }

  private async device(imei: string): Promise<void> {
    // A device named by its OneNET device id (not a 15-digit IMEI) needs no lookup.
    let id = this.ids.get(imei) ?? (/^\d{15}$/.test(imei) ? undefined : imei);
    if (!id) {
      const a = (await this.get(`/devices/getbyimei?imei=${encodeURIComponent(imei)}`)) as {
        errno?: unknown;
        error?: unknown;
        data?: { id?: unknown; online?: unknown };
      };
      if (a?.errno !== 0) throw new Error(`getbyimei: OneNET errno ${String(a?.errno)}: ${String(a?.error ?? '').slice(0, 120)}`);
      const found = a.data?.id;
      if ((typeof found !== 'string' && typeof found !== 'number') || !/^\d{1,20}$/.test(String(found)))
        throw new Error('getbyimei: the answer names no device id');
      id = String(found);
      this.ids.set(imei, id);
      if (typeof a.data?.online === 'boolean') this.availability(imei, a.data.online);
    } else {
      const d = (await this.get(`/devices/${id}`)) as { errno?: unknown; data?: { online?: unknown } };
      if (d?.errno === 0 && typeof d.data?.online === 'boolean') this.availability(imei, d.data.online);
    }
    const seen = this.seen.get(imei) ?? new Map<string, string>();
    this.seen.set(imei, seen);
    for (const ev of datastreamEvents(imei, await this.get(`/devices/${id}/datastreams`), seen)) this.emit(ev);
  }

  private availability(imei: string, online: boolean): void {
    if (this.online.get(imei) === online) return;
    this.online.set(imei, online);
    // Offline for the API's silence: the platform's own state is told once the API answers again.
    if (this.outage.isDown(imei)) return;
    this.emit({ type: 'availability', externalId: imei, online });
  }

  private async get(path: string): Promise<unknown> {
    const res = await fetch(`${this.settings.url.replace(/\/$/, '')}${path}`, {
      headers: { 'api-key': this.settings.apiKey, accept: 'application/json' },
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${path.split('?')[0]}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${path.split('?')[0]}: the answer is not JSON`);
    }
  }
}
