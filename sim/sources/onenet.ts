/**
 * A simulated OneNET data push (China Mobile's IoT platform): the URL check it makes when the
 * push is configured, and data pushes in plain mode, signed with the push token as OneNET signs
 * them (Base64(MD5(token + nonce + msg))), sent again when the answer is not 200, as OneNET does.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { onenetSignature } from '../../devices/sources/onenet.js';

export interface OnenetPoint {
  imei: string;
  dev_id?: number;
  ds_id: string;
  value: unknown;
  at?: number;
}

export class SimulatedOnenet {
  /** Every answer the gateway gave, in order. */
  readonly answers: number[] = [];

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** OneNET's URL check: passes when the gateway answers the msg back. */
  async verifyUrl(token = this.token): Promise<{ status: number; body: string; ok: boolean }> {
    const msg = randomBytes(6).toString('hex');
    const nonce = randomBytes(4).toString('hex');
    const q = new URLSearchParams({ msg, nonce, signature: onenetSignature(token, nonce, msg) });
    const res = await fetch(`${this.url}?${q}`);
    const body = await res.text();
    return { status: res.status, body, ok: res.status === 200 && body === msg };
  }

  /** One push of data points (type 1), retried `retries` more times while not answered 200 (or always, with `repeat`). */
  async push(points: OnenetPoint[], opts: { token?: string; repeat?: number; spaced?: boolean } = {}): Promise<number> {
    const msg = points.map((p) => ({
      type: 1,
      dev_id: p.dev_id ?? 1000 + Number(p.imei.slice(-3)),
      imei: p.imei,
      ds_id: p.ds_id,
      at: p.at ?? Date.now(),
      value: p.value,
    }));
    return this.send(msg.length === 1 ? msg[0] : msg, opts);
  }

  /** A device going online or offline (type 2). */
  async status(imei: string, online: boolean, opts: { token?: string } = {}): Promise<number> {
    return this.send(
      { type: 2, dev_id: 1000 + Number(imei.slice(-3)), imei, status: online ? 1 : 0, login_type: 10, at: Date.now() },
      opts,
    );
  }

  private async send(msg: unknown, opts: { token?: string; repeat?: number; spaced?: boolean }): Promise<number> {
    const nonce = randomBytes(4).toString('hex');
    // OneNET writes its JSON with its own spacing: the signature covers the text as sent.
    const msgText = opts.spaced ? JSON.stringify(msg, null, 1) : JSON.stringify(msg);
    const body = `{"msg":${msgText},"msg_signature":"${onenetSignature(opts.token ?? this.token, nonce, msgText)}","nonce":"${nonce}"}`;
    let status = 0;
    for (let i = 0; i <= (opts.repeat ?? 0); i++) {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      status = res.status;
      this.answers.push(status);
    }
    return status;
  }
}

/** One device as OneNET's API knows it: its platform id, whether it is online, its data streams. */
export interface OnenetApiDevice {
  imei: string;
  id: string;
  online: boolean;
  /** Stream id → latest value and when it came (ms). */
  streams: Map<string, { value: unknown; at: number }>;
}

/**
 * A simulated OneNET API (api.heclouds.com) for the gateway's polling: getbyimei, a device's
 * details and its data streams' latest values, with update_at in Beijing time as OneNET writes
 * it; the master key checked in the `api-key` header (a wrong key gets OneNET's errno 3).
 */
export class SimulatedOnenetApi {
  readonly devices = new Map<string, OnenetApiDevice>();
  /** Requests seen, path only (no key). */
  readonly requests: string[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly apiKey: string) {}

  add(imei: string, id: string): OnenetApiDevice {
    const d: OnenetApiDevice = { imei, id, online: true, streams: new Map() };
    this.devices.set(imei, d);
    return d;
  }

  /** A data point arriving at OneNET: the stream's latest value (OneNET's times have whole seconds). */
  set(imei: string, stream: string, value: unknown, at = Date.now()): void {
    this.devices.get(imei)!.streams.set(stream, { value, at: Math.floor(at / 1000) * 1000 });
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push(url.pathname);
      const send = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['api-key'] !== this.apiKey) return send({ errno: 3, error: 'auth failed: invalid api-key' });
      const byId = (id: string) => [...this.devices.values()].find((d) => d.id === id);
      if (url.pathname === '/devices/getbyimei') {
        const d = this.devices.get(url.searchParams.get('imei') ?? '');
        if (!d) return send({ errno: 10, error: 'device not found' });
        return send({ errno: 0, error: 'succ', data: { id: d.id, online: d.online, title: d.imei, create_time: beijing(Date.now()) } });
      }
      const m = /^\/devices\/(\d+)(\/datastreams)?$/.exec(url.pathname);
      const d = m ? byId(m[1]!) : undefined;
      if (!m || !d) return send({ errno: 10, error: 'device not found' });
      if (!m[2]) return send({ errno: 0, error: 'succ', data: { id: d.id, online: d.online, protocol: 'LWM2M', title: d.imei } });
      send({
        errno: 0,
        error: 'succ',
        data: [...d.streams].map(([id, s]) => ({ id, current_value: s.value, update_at: beijing(s.at), create_time: beijing(s.at) })),
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** "2026-12-03 09:23:17" in Beijing time (UTC+8), as OneNET's API writes times. */
function beijing(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}
