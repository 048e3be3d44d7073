/**
 * A simulated China Telecom CTWing (AEP) subscription push: one JSON message per POST, shaped as
 * the platform's published samples (upPacketSN, topic, timestamp, tenantId, productId, payload,
 * messageType, deviceId, IMSI, IMEI), to the push URL the site entered (its `?token=` included),
 * pushed again up to three times while the answer is not 200, as CTWing does.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface CtwingDevice {
  imei: string;
  productId?: string;
}

export class SimulatedCtwing {
  /** Every answer the gateway gave, in order. */
  readonly answers: number[] = [];
  private sn = 0;

  /** `url` is the push URL as entered on the subscription page, `?token=…` included. */
  constructor(private readonly url: string) {}

  /** The platform's deviceId for an IMEI (32 hex digits, stable). */
  static deviceId(imei: string): string {
    return createHash('md5').update(`ctwing:${imei}`).digest('hex');
  }

  private envelope(d: CtwingDevice, messageType: string, extra: Record<string, unknown>): Record<string, unknown> {
    return {
      upPacketSN: -1,
      upDataSN: -1,
      topic: 'v1/up/ad',
      timestamp: Date.now(),
      tenantId: '2000033629',
      serviceId: '',
      protocol: 'lwm2m',
      productId: d.productId ?? '15114816',
      ...extra,
      messageType,
      deviceType: '',
      deviceId: SimulatedCtwing.deviceId(d.imei),
      assocAssetId: '',
      IMSI: 'undefined',
      IMEI: d.imei,
    };
  }

  /** The dataReport of object-model properties (or, with `serviceId`, a profile's serviceData), as CTWing writes it. */
  dataReport(d: CtwingDevice, properties: Record<string, unknown>, serviceId?: number): Record<string, unknown> {
    const payload = serviceId !== undefined ? { serviceId, serviceData: properties } : properties;
    this.sn++;
    return this.envelope(d, 'dataReport', { upDataSN: this.sn, payload });
  }

  /** Pushes a dataReport (see dataReport). */
  report(d: CtwingDevice, properties: Record<string, unknown>, opts: { serviceId?: number; repeat?: number; url?: string } = {}) {
    return this.send(this.dataReport(d, properties, opts.serviceId), opts);
  }

  /** A transparent product's bytes (payload.APPdata, base64). */
  raw(d: CtwingDevice, bytes: Buffer, opts: { repeat?: number; url?: string } = {}) {
    return this.send(this.envelope(d, 'dataReport', { payload: { APPdata: bytes.toString('base64') } }), opts);
  }

  /** deviceOnlineOfflineReport: eventType 1 online, 0 offline. */
  online(d: CtwingDevice, online: boolean, opts: { url?: string } = {}) {
    return this.send(this.envelope(d, 'deviceOnlineOfflineReport', { eventType: online ? 1 : 0 }), opts);
  }

  /**
   * One message; sent again while it is not answered 200, at most three times more (CTWing's
   * retries), or exactly `repeat` times more when given (a retry whose answer was lost).
   */
  async send(message: unknown, opts: { repeat?: number; url?: string } = {}): Promise<number> {
    const body = JSON.stringify(message);
    let status = 0;
    const tries = opts.repeat !== undefined ? opts.repeat + 1 : 4;
    for (let i = 0; i < tries; i++) {
      const res = await fetch(opts.url ?? this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      status = res.status;
      this.answers.push(status);
      if (opts.repeat === undefined && status === 200) break;
    }
    return status;
  }
}

export interface CtwingApiDevice {
  imei: string;
  deviceId: string;
  name: string;
  /** netStatus: 1 online, 2 offline. */
  online: boolean;
  /** datasetId → its latest value and when (Unix ms), as deviceStatusList answers. */
  properties: Map<string, { value: unknown; timestamp: number }>;
}

/**
 * A simulated CTWing (AEP) open API (ag-api.ctwing.cn) for the gateway's polling: the product's
 * device list (with its MasterKey) and each device's latest properties (deviceStatusList, values
 * as strings, as the API writes them). Every call's signature is checked as AEP documents it —
 * recomputed here from the request as received, not with the gateway's code — and a call whose
 * App Key, signature or timestamp (±30 s) is wrong is refused the way the API gateway refuses it.
 */
export class SimulatedCtwingApi {
  readonly devices = new Map<string, CtwingApiDevice>();
  /** Requests seen: method and path only (no key, no signature). */
  readonly requests: string[] = [];
  /** Why calls were refused. */
  readonly refused: string[] = [];
  /** The platform down: every call answers 503 Service Unavailable (in AEP's error table). */
  unavailable = false;
  private server?: Server;
  url = '';

  constructor(private readonly app: { appKey: string; appSecret: string; productId: string; masterKey: string }) {}

  add(imei: string, name = imei): CtwingApiDevice {
    const d: CtwingApiDevice = { imei, deviceId: SimulatedCtwing.deviceId(imei), name, online: true, properties: new Map() };
    this.devices.set(imei, d);
    return d;
  }

  /** A report arriving at CTWing: the property's latest value. */
  set(imei: string, datasetId: string, value: unknown, timestamp = Date.now()): void {
    this.devices.get(imei)!.properties.set(datasetId, { value, timestamp });
  }

  /** The string AEP signs, built from the request as it arrived (query parameters and MasterKey, sorted). */
  private expected(url: URL, headers: Record<string, string | string[] | undefined>, body: string): string {
    const params: Array<[string, string]> = [...url.searchParams.entries()];
    const master = headers.masterkey;
    if (typeof master === 'string') params.push(['MasterKey', master]);
    params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const lines = [
      `application:${String(headers.application)}`,
      `timestamp:${String(headers.timestamp)}`,
      ...params.map(([k, v]) => `${k}:${v}`),
    ];
    const text = `${lines.join('\n')}\n${body.trim() ? `${body}\n` : ''}`;
    return createHmac('sha1', this.app.appSecret).update(text).digest('base64');
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push(`${req.method} ${url.pathname}`);
        const send = (status: number, answer: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer));
        };
        const refuse = (status: number, code: string, desc: string) => {
          this.refused.push(desc);
          send(status, { error_code: code, error_desc: desc });
        };
        const h = req.headers;
        if (this.unavailable) return send(503, { code: 503, msg: 'Service Unavailable' });
        if (h.application !== this.app.appKey) return refuse(401, '401', 'Application not found');
        const ts = Number(h.timestamp);
        if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > 30_000) return refuse(401, '401', 'Timestamp expired');
        if (h.signature !== this.expected(url, h, body)) return refuse(401, '401', 'Signature not matched');
        if (req.method === 'GET' && url.pathname === '/aep_device_management/devices') {
          if (h.version !== '20190507012134') return send(200, { code: 1001, msg: 'version not supported' });
          if (h.masterkey !== this.app.masterKey) return send(200, { code: 2001, msg: 'MasterKey error' });
          if (url.searchParams.get('productId') !== this.app.productId) return send(200, { code: 2002, msg: 'product not found' });
          const size = Number(url.searchParams.get('pageSize') ?? 10);
          const page = Number(url.searchParams.get('pageNow') ?? 1);
          const all = [...this.devices.values()];
          const list = all.slice((page - 1) * size, page * size).map((d) => ({
            deviceId: d.deviceId,
            deviceName: d.name,
            tenantId: '2000033629',
            productId: Number(this.app.productId),
            imei: d.imei,
            deviceStatus: 1,
            netStatus: d.online ? 1 : 2,
            createTime: 1650554828842,
          }));
          return send(200, { code: 0, msg: 'ok', result: { pageNum: page, pageSize: size, total: all.length, list } });
        }
        if (req.method === 'POST' && url.pathname === '/aep_device_status/deviceStatusList') {
          if (h.version !== '20181031202403') return send(200, { code: 1001, msg: 'version not supported' });
          let q: { productId?: unknown; deviceId?: unknown };
          try {
            q = JSON.parse(body) as typeof q;
          } catch {
            return send(400, { code: 1, desc: 'body is not JSON' });
          }
          const d = [...this.devices.values()].find((x) => x.deviceId === q.deviceId);
          if (String(q.productId) !== this.app.productId || !d) return send(200, { code: 1, desc: 'data fetch failed.' });
          const deviceStatusList = [...d.properties].map(([datasetId, p]) => ({
            datasetId,
            value: String(p.value),
            timestamp: p.timestamp,
          }));
          return send(200, { code: 0, deviceStatusList });
        }
        send(404, { code: 404, msg: 'Not found' });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
