/**
 * A simulated patrol drone (or dock) in the DJI Cloud API style: OSD telemetry, events that ask
 * for a reply, topology updates on sys/product/{sn}/status, and the replies it expects echoing
 * tid and bid. Its serial number is its device id.
 */
import { randomUUID } from 'node:crypto';
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { num, simKind } from './sim-kind.js';

export interface Position {
  lat: number;
  lon: number;
  height?: number;
}

export class SimulatedDrone extends SimulatedMqttDevice {
  battery = 90;
  position: Position = { lat: 0, lon: 0, height: 60 };
  readonly replies: Array<{ topic: string; body: Record<string, unknown> }> = [];

  constructor(opts: Omit<SimDeviceOptions, 'will'>) {
    super(opts);
  }

  private t(path: string): string {
    return path.startsWith('sys/') ? path.replace('{sn}', this.id) : `thing/product/${this.id}/${path}`;
  }

  override async connect(): Promise<void> {
    await super.connect();
    for (const topic of [this.t('events_reply'), this.t('requests_reply'), this.t('services'), this.t('sys/product/{sn}/status_reply')])
      await this.subscribe(topic);
    this.onMessage((topic, payload) => this.replies.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
  }

  private envelope(method: string | undefined, data: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      tid: randomUUID(),
      bid: randomUUID(),
      timestamp: Date.now(),
      ...(method ? { method } : {}),
      data,
      gateway: this.id,
      ...extra,
    });
  }

  /** One OSD message at the current position, with some of the many vendor fields a real aircraft sends. */
  async osd(overrides: Record<string, unknown> = {}): Promise<void> {
    const { lat, lon, height = 60 } = this.position;
    await this.publish(
      this.t('osd'),
      this.envelope(undefined, {
        latitude: lat,
        longitude: lon,
        height,
        elevation: height - 20,
        horizontal_speed: 8.5,
        vertical_speed: 0,
        mode_code: 5,
        battery: { capacity_percent: this.battery, remain_flight_time: 900 },
        gear: 1,
        wind_speed: 3,
        ...overrides,
      }),
    );
  }

  /**
   * A dock's message for its aircraft: the aircraft's OSD on `thing/product/{aircraft sn}/osd`,
   * sent over the dock's own connection, as the Cloud API has a dock do for its sub-device.
   */
  async aircraftOsd(aircraftSn: string, battery: number): Promise<void> {
    const { lat, lon, height = 60 } = this.position;
    await this.publish(
      `thing/product/${aircraftSn}/osd`,
      this.envelope(undefined, { latitude: lat, longitude: lon, height, battery: { capacity_percent: battery, remain_flight_time: 600 } }),
    );
  }

  async flyTo(target: Position, steps: number): Promise<void> {
    const from = { ...this.position };
    for (let i = 1; i <= steps; i++) {
      this.position = {
        lat: from.lat + ((target.lat - from.lat) * i) / steps,
        lon: from.lon + ((target.lon - from.lon) * i) / steps,
        height: target.height ?? from.height,
      };
      await this.osd();
    }
  }

  /** An event; with needReply, resolves to the gateway's events_reply (or throws after timeoutMs). */
  async event(
    method: string,
    data: Record<string, unknown>,
    needReply = false,
    timeoutMs = 3000,
  ): Promise<Record<string, unknown> | undefined> {
    const body = this.envelope(method, data, needReply ? { need_reply: 1 } : {});
    const tid = (JSON.parse(body) as { tid: string }).tid;
    await this.publish(this.t('events'), body);
    return needReply ? this.waitReply('events_reply', tid, timeoutMs) : undefined;
  }

  /** One of a dock's own requests (config, airport_bind_status, …); resolves to the gateway's requests_reply. */
  async request(method: string, data: Record<string, unknown> = {}, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const body = this.envelope(method, data);
    const tid = (JSON.parse(body) as { tid: string }).tid;
    await this.publish(this.t('requests'), body);
    return this.waitReply('requests_reply', tid, timeoutMs);
  }

  /** A topology update, as a dock sends when its aircraft powers on; resolves to the status_reply. */
  async updateTopology(timeoutMs = 3000): Promise<Record<string, unknown> | undefined> {
    const body = this.envelope('update_topo', {
      domain: 3,
      type: 119,
      sub_type: 0,
      device_secret: 'x',
      nonce: 'y',
      version: 1,
      sub_devices: [],
    });
    const tid = (JSON.parse(body) as { tid: string }).tid;
    await this.publish(this.t('sys/product/{sn}/status'), body);
    return this.waitReply('status_reply', tid, timeoutMs);
  }

  /**
   * Plays a dock's live streaming: a live_start_push (RTSP) is answered with `url` in
   * services_reply `output`, as a dock answers with the address of the RTSP server it started;
   * live_stop_push with result 0. `calls` keeps every service call received.
   */
  serveLive(url: string): void {
    this.onMessage((topic, payload) => {
      if (!topic.endsWith('/services')) return;
      const call = JSON.parse(payload.toString()) as { tid?: string; bid?: string; method?: string; data?: Record<string, unknown> };
      this.calls.push(call);
      if (call.method !== 'live_start_push' && call.method !== 'live_stop_push') return;
      const output = call.method === 'live_start_push' ? { output: url } : {};
      void this.publish(
        this.t('services_reply'),
        JSON.stringify({ tid: call.tid, bid: call.bid, timestamp: Date.now(), method: call.method, data: { result: 0, ...output } }),
      );
    });
  }

  readonly calls: Array<{ method?: string; data?: Record<string, unknown> }> = [];

  private async waitReply(suffix: string, tid: string, timeoutMs: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.find((x) => x.topic.endsWith(suffix) && x.body.tid === tid);
      if (r) return r.body;
      if (Date.now() > deadline) throw new Error(`${this.id}: no ${suffix} for ${tid}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }
}

/** What the scenario runner can do with a simulated drone. */
export const droneSim = simKind<SimulatedDrone>({
  kind: 'drone',
  create: (url, id, secret, _o, start) => {
    const d = new SimulatedDrone({ url, id, secret, reconnect: true });
    if (start) d.position = { ...start, height: 60 };
    return d;
  },
  reading: (d) => d.osd(),
  readingTopic: (d) => `thing/product/${d.id}/osd`,
  actions: {
    flyTo: (d, a) =>
      d.flyTo({ lat: num(a, 'lat', d.position.lat), lon: num(a, 'lon', d.position.lon) }, Math.max(1, Math.round(num(a, 'steps', 5)))),
    battery: async (d, a) => {
      d.battery = num(a, 'percent', 20);
      await d.osd();
    },
  },
});
