/**
 * CTWing's open API, polled (sources.ctwing.poll) for sites CTWing's push cannot reach. Every
 * `everySeconds`: with the product's MasterKey, the product's device list first (which deviceId
 * each IMEI is, who is online, what can be adopted); then each device's latest properties
 * (deviceStatusList), what is new going to its model like a pushed dataReport. Every call is
 * signed as AEP documents it (devices/sources/ctwing.ts has the wire format). Failures are
 * counted and logged without the secret or the MasterKey, and tried again on the next round.
 */
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import {
  type CtwingListedDevice,
  type CtwingPollSettings,
  ctwingRefusal,
  ctwingSignature,
  deviceListPage,
  statusListEvents,
} from '../devices/sources/ctwing.js';
import type { SourceEvent } from '../devices/sources/types.js';
import { PollLoop } from './poll-loop.js';

const STATUS_LIST_VERSION = '20181031202403';
const DEVICE_LIST_VERSION = '20190507012134';
const PAGE_SIZE = 100;
/** A product larger than this is not listed beyond it (the deviceIds of the rest must be given as ids). */
const MAX_PAGES = 50;

export class CtwingPoller extends PollLoop {
  private readonly deviceIds = new Map<string, string>();
  private readonly seen = new Map<string, Map<string, number>>();
  constructor(
    private readonly settings: CtwingPollSettings & { appSecret: string },
    /** The registry's CTWing ids: IMEIs or CTWing deviceIds. */
    private readonly ids: () => string[],
    emit: (ev: SourceEvent) => void,
    counters: Counters,
    log: Logger,
  ) {
    super({ source: 'ctwing', platform: 'CTWing', ...settings, emit, counters, log });
  }

  /** One round: the device list (with a MasterKey), then every device, one at a time. */
  protected async poll(): Promise<void> {
    if (this.settings.masterKey) {
      try {
        this.listed(await this.deviceList());
        this.loop.counters.inc('source_polls_total', { source: 'ctwing' });
      } catch (err) {
        this.failed({ call: 'devices' }, err);
      }
    }
    for (const id of this.ids()) {
      if (this.stopped) return;
      // An IMEI the list did not name cannot be asked for: CTWing's deviceId is not derived from it.
      const deviceId = this.deviceIds.get(id) ?? (/^\d{15}$/.test(id) ? undefined : id);
      if (!deviceId) {
        this.failed({ id }, new Error(`no CTWing deviceId for IMEI ${id} (the product's device list, with poll.masterKey, names it)`));
        continue;
      }
      await this.polled(id, async () => {
        const body = JSON.stringify({ productId: this.settings.productId, deviceId });
        const answer = await this.call('POST', '/aep_device_status/deviceStatusList', {}, body, STATUS_LIST_VERSION, false);
        const seen = this.seen.get(id) ?? new Map<string, number>();
        this.seen.set(id, seen);
        for (const ev of statusListEvents(id, answer, seen)) this.loop.emit(ev);
      });
    }
  }

  private async deviceList(): Promise<CtwingListedDevice[]> {
    const all: CtwingListedDevice[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query = { productId: this.settings.productId, searchValue: '', pageNow: String(page), pageSize: String(PAGE_SIZE) };
      const { devices, total } = deviceListPage(
        await this.call('GET', '/aep_device_management/devices', query, '', DEVICE_LIST_VERSION, true),
      );
      all.push(...devices);
      if (devices.length < PAGE_SIZE || all.length >= total) break;
    }
    return all;
  }

  /** What the list says: each IMEI's deviceId (both name the device), online state on change, the inventory. */
  private listed(devices: CtwingListedDevice[]): void {
    for (const d of devices) if (d.imei) this.deviceIds.set(d.imei, d.deviceId);
    this.loop.emit({
      type: 'inventory',
      devices: devices.map((d) => ({
        externalId: d.imei ?? d.deviceId,
        aliases: d.imei ? [d.deviceId] : [],
        model: this.settings.productId,
        ...(d.name ? { description: d.name } : {}),
      })),
    });
    for (const d of devices) if (d.online !== undefined) this.platformSays(d.imei ?? d.deviceId, d.online);
  }

  /** One signed call; `master` adds the product's MasterKey (device management wants it, data queries do not). */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    body: string,
    version: string,
    master: boolean,
  ): Promise<unknown> {
    const { appKey, appSecret } = this.settings;
    const masterKey = master ? this.settings.masterKey : undefined;
    const timestamp = String(Date.now());
    const signed = masterKey ? { ...query, MasterKey: masterKey } : query;
    const headers: Record<string, string> = {
      application: appKey,
      timestamp,
      version,
      signature: ctwingSignature(appSecret, appKey, timestamp, signed, body),
      accept: 'application/json',
      ...(masterKey ? { MasterKey: masterKey } : {}),
      ...(body ? { 'content-type': 'application/json; charset=UTF-8' } : {}),
    };
    const qs = new URLSearchParams(query).toString();
    const res = await fetch(`${this.settings.url.replace(/\/$/, '')}${path}${qs ? `?${qs}` : ''}`, {
      method,
      headers,
      ...(body ? { body } : {}),
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    const text = await res.text();
    let answer: unknown;
    try {
      answer = JSON.parse(text) as unknown;
    } catch {
      throw new Error(`HTTP ${res.status} from ${path}: the answer is not JSON`);
    }
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${path}: ${ctwingRefusal(answer) ?? 'refused'}`);
    return answer;
  }
}
