/**
 * A simulated China Telecom CTWing (AEP) subscription push: one JSON message per POST, shaped as
 * the platform's published samples (upPacketSN, topic, timestamp, tenantId, productId, payload,
 * messageType, deviceId, IMSI, IMEI), to the push URL the site entered (its `?token=` included),
 * pushed again up to three times while the answer is not 200, as CTWing does.
 */
import { createHash } from 'node:crypto';

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
