/**
 * China Telecom CTWing (AEP) subscription push (订阅推送), as its message-push guide describes
 * it: the platform POSTs one JSON message per request to the URL the site enters on the
 * subscription page (设备级, 产品级 or 分组级), treats anything but HTTP 200 as a failure and pushes
 * it again (at most three more times), and rates a receiver by how fast it answers — so the
 * gateway answers at once and takes a repeat only once.
 *
 * A message (the shapes in the guide and in the platform's published samples):
 *
 *     {"upPacketSN":-1, "upDataSN":-1, "topic":"v1/up/ad", "timestamp":1650554828842,
 *      "tenantId":"2000033629", "serviceId":"", "protocol":"lwm2m", "productId":"15114816",
 *      "payload":{"APPdata":"AQFWMS4w…"}, "messageType":"dataReport", "deviceType":"",
 *      "deviceId":"40edca19b0124480864366de4621de99", "assocAssetId":"", "IMSI":"undefined",
 *      "IMEI":"862592051651472"}
 *
 * - `messageType` `dataReport` (a report; `payload` is `{APPdata: base64}` for a transparent
 *   product, `{serviceId, serviceData: {…}}` for an LwM2M product with a profile, or the
 *   properties themselves for a product with an object model), `eventReport` (the same, for an
 *   event service), `deviceOnlineOfflineReport` (`eventType` 1 online, 0 offline). Command
 *   responses and device add/delete notices are not a device's data: ignored.
 * - A device is named by its `IMEI` (NB-IoT), or by the platform's `deviceId`.
 *
 * Authentication. The push carries no signature: neither the guide nor the published samples
 * show one, and we do not invent one. The platform calls the URL the site enters, query string
 * included, so the gateway requires a secret in it (`?token=…`, checked before the body is
 * read, in constant time) and, where the site knows the platform's push addresses, those
 * addresses only (`allowFrom`). Use HTTPS (`api.tls`) or a proxy that terminates it: the token
 * travels in the URL.
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { sameSecret } from '../../core/credentials.js';
import { type PushResult, type PushSourceDefinition, refusePush as refuse, type SourceEvent } from './types.js';

export const CtwingConfig = Type.Object(
  {
    token: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_.~-]+$',
        description: 'the secret in the push URL (?token=…) entered on the subscription page (or GRIDEDGE_SOURCE_TOKEN_CTWING)',
      }),
    ),
    path: Type.String({
      pattern: '^/push/[A-Za-z0-9_-]{1,64}$',
      default: '/push/ctwing',
      description: 'where CTWing pushes, on the API port',
    }),
    allowFrom: Type.Optional(
      Type.Array(Type.String({ minLength: 2, maxLength: 64 }), {
        maxItems: 64,
        description: "the platform's push addresses (IPs or CIDRs); any address when unset",
      }),
    ),
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 4_194_304, default: 65_536 }),
  },
  { additionalProperties: false },
);
export interface CtwingSettings {
  token?: string;
  path: string;
  allowFrom?: string[];
  maxBodyBytes: number;
}

/** `allowFrom` as a block list; throws with the entry that is not an IP or CIDR (for config checks). */
export function ctwingAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const family = isIP(addr ?? '');
    if (!family) throw new Error(`"${e}" is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr!, type);
    else {
      const n = Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > (family === 4 ? 32 : 128)) throw new Error(`"${e}" has no valid prefix length`);
      list.addSubnet(addr!, n, type);
    }
  }
  return list;
}

const allowLists = new WeakMap<readonly string[], BlockList>();

function allowed(entries: readonly string[] | undefined, address: string | undefined): boolean {
  if (!entries?.length) return true;
  if (!address) return false;
  let list = allowLists.get(entries);
  if (!list) {
    list = ctwingAllowList(entries);
    allowLists.set(entries, list);
  }
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== 'undefined' ? v : undefined;
}

export const ctwing: PushSourceDefinition<CtwingSettings> = {
  name: 'ctwing',
  description: "NB-IoT devices through China Telecom CTWing (AEP)'s subscription push",
  configSchema: CtwingConfig,
  path: (c) => c.path,
  handle(req, c): PushResult {
    if (!c.token) return refuse(503, 'sources.ctwing.token is not set');
    // Who and which secret first: nothing of the body is read before both pass.
    if (!allowed(c.allowFrom, req.remoteAddress)) return refuse(403, `address ${req.remoteAddress ?? '?'} is not in allowFrom`);
    const given = req.query.token;
    if (!given || !sameSecret(given, c.token)) return refuse(403, 'the push URL has no token or another one');
    if (req.method !== 'POST') return refuse(405, 'POST only');
    if (req.body.length > c.maxBodyBytes) return refuse(413, `body of ${req.body.length} bytes is over the limit`);
    let m: Record<string, unknown>;
    try {
      const v = JSON.parse(req.body.toString('utf8')) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) return refuse(400, 'body is not a JSON object');
      m = v as Record<string, unknown>;
    } catch {
      return refuse(400, 'body is not JSON');
    }
    // A retry is the same message again: the same bytes, so their digest is the key.
    const key = createHash('sha256').update(req.body).digest('hex');
    const one = (ev: SourceEvent): PushResult => ({ status: 200, body: 'ok', events: [ev], keys: [key] });
    const id = text(m.IMEI) ?? text(m.deviceId);
    const ts = typeof m.timestamp === 'number' && Number.isFinite(m.timestamp) ? m.timestamp : undefined;
    switch (m.messageType) {
      case 'dataReport':
      case 'eventReport': {
        if (!id) return one({ type: 'refused', reason: `${m.messageType} names no IMEI or deviceId` });
        const payload = m.payload;
        if (!payload || typeof payload !== 'object' || Array.isArray(payload))
          return one({ type: 'refused', externalId: id, reason: `${m.messageType} without a payload object` });
        const p = payload as Record<string, unknown>;
        const json: Record<string, unknown> = { messageType: m.messageType, payload: p };
        if (m.serviceId !== undefined && m.serviceId !== '') json.serviceId = m.serviceId;
        let bytes: Buffer | undefined;
        if (typeof p.APPdata === 'string') {
          if (!/^[A-Za-z0-9+/]*={0,2}$/.test(p.APPdata)) return one({ type: 'refused', externalId: id, reason: 'APPdata is not base64' });
          bytes = Buffer.from(p.APPdata, 'base64');
        }
        return one({ type: 'data', externalId: id, input: { json, ...(bytes ? { bytes } : {}), ...(ts ? { ts } : {}) } });
      }
      case 'deviceOnlineOfflineReport':
        if (!id) return one({ type: 'refused', reason: 'online/offline report names no IMEI or deviceId' });
        if (m.eventType !== 0 && m.eventType !== 1)
          return one({ type: 'refused', externalId: id, reason: `eventType ${JSON.stringify(m.eventType)} is neither 1 (online) nor 0` });
        return one({ type: 'availability', externalId: id, online: m.eventType === 1 });
      default:
        return one({ type: 'ignored' });
    }
  },
};
