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

export class OnenetPoller extends PollLoop {
  private readonly ids = new Map<string, string>();
  private readonly seen = new Map<string, Map<string, string>>();
  constructor(
    private readonly settings: OnenetPollSettings & { apiKey: string },
    private readonly imeis: () => string[],
    emit: (ev: SourceEvent) => void,
    counters: Counters,
    log: Logger,
  ) {
    super({ source: 'onenet', platform: 'OneNET', ...settings, emit, counters, log });
  }

  /** One round over every device, one at a time (OneNET limits calls per second per key). */
  protected async poll(): Promise<void> {
    for (const imei of this.imeis()) {
      if (this.stopped) return;
      await this.polled(imei, () => this.device(imei), 'imei');
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
      if (typeof a.data?.online === 'boolean') this.platformSays(imei, a.data.online);
    } else {
      const d = (await this.get(`/devices/${id}`)) as { errno?: unknown; data?: { online?: unknown } };
      if (d?.errno === 0 && typeof d.data?.online === 'boolean') this.platformSays(imei, d.data.online);
    }
    const seen = this.seen.get(imei) ?? new Map<string, string>();
    this.seen.set(imei, seen);
    for (const ev of datastreamEvents(imei, await this.get(`/devices/${id}/datastreams`), seen)) this.loop.emit(ev);
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
