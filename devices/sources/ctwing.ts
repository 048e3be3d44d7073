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
 *
 * Polling. Where the push cannot reach the gateway (no public address, a site behind NAT), the
 * gateway reads CTWing's open API instead (`poll`), as AEP's API documents describe it
 * (https://ag-api.ctwing.cn; 数据查询 aep_device_status, 设备管理 aep_device_management):
 * - Every call carries `application` (the app's App Key), `timestamp` (Unix ms; the platform
 *   allows some 30 s of clock skew), `version` (the API's version) and `signature`:
 *   Base64(HMAC-SHA1(App Secret, "application:" + key + "\n" + "timestamp:" + ts + "\n" + one
 *   "name:value\n" per query parameter and MasterKey header, sorted by name, + body + "\n" when
 *   there is a body)), as the platform's own SDKs compute it (ctwingSignature below).
 * - `POST /aep_device_status/deviceStatusList` (version 20181031202403) with
 *   `{"productId", "deviceId"}` → `{"code":0,"deviceStatusList":[{"datasetId":"smoke_state",
 *   "value":"1","timestamp":1535697526464},…]}`, each property's latest value.
 * - With the product's MasterKey, `GET /aep_device_management/devices?productId&searchValue&
 *   pageNow&pageSize` (version 20190507012134) → `{"code":0,"result":{"total":…,"list":[{"deviceId",
 *   "deviceName","imei","netStatus":1,…}]}}`: which deviceId an IMEI is, whether it is online
 *   (netStatus 1), and what the product holds for adoption.
 * - A refusal is `{"code":≠0,"msg"|"desc":…}` from the API or `{"error_code","error_desc"}` from
 *   the gateway in front of it (a signature not matched, a timestamp expired).
 */
import { createHash, createHmac } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import { sameSecret } from '../../core/credentials.js';
import {
  PollTiming,
  type PollTimingSettings,
  type PushResult,
  type PushSourceDefinition,
  refusePush as refuse,
  type SourceEvent,
} from './types.js';

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
    poll: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://ag-api.ctwing.cn', description: "CTWing's open API" }),
          appKey: Type.String({ pattern: '^[A-Za-z0-9_-]{4,64}$', description: "the application's App Key (应用管理)" }),
          appSecret: Type.Optional(
            Type.String({
              minLength: 4,
              maxLength: 128,
              description: "the application's App Secret (or GRIDEDGE_SOURCE_APPSECRET_CTWING)",
            }),
          ),
          productId: Type.String({ pattern: '^\\d{1,20}$', description: 'the product the devices are in' }),
          masterKey: Type.Optional(
            Type.String({
              minLength: 8,
              maxLength: 128,
              description:
                "the product's MasterKey (or GRIDEDGE_SOURCE_MASTERKEY_CTWING): lets the gateway find a device by IMEI and see it online",
            }),
          ),
          ...PollTiming,
        },
        {
          additionalProperties: false,
          description: "read CTWing's API for the devices' latest values, where CTWing's push cannot reach the gateway",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export interface CtwingPollSettings extends PollTimingSettings {
  url: string;
  appKey: string;
  appSecret?: string;
  productId: string;
  masterKey?: string;
}
export interface CtwingSettings {
  token?: string;
  path: string;
  allowFrom?: string[];
  maxBodyBytes: number;
  poll?: CtwingPollSettings;
}

/**
 * CTWing's API signature: Base64(HMAC-SHA1(appSecret, the string to sign)), the string being
 * "application:<appKey>\ntimestamp:<ts>\n", then "name:value\n" for each query parameter and
 * the MasterKey header sorted by name, then the body and "\n" when there is a body.
 */
export function ctwingSignature(
  appSecret: string,
  appKey: string,
  timestamp: string,
  params: Record<string, string>,
  body: string,
): string {
  let text = `application:${appKey}\ntimestamp:${timestamp}\n`;
  for (const k of Object.keys(params).sort()) text += `${k}:${params[k]}\n`;
  if (body.trim() !== '') text += `${body}\n`;
  return createHmac('sha1', appSecret).update(text, 'utf8').digest('base64');
}

/** A CTWing API refusal as one line (code and message, or the API gateway's error), or undefined for success. */
export function ctwingRefusal(answer: unknown): string | undefined {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return 'the answer is not a JSON object';
  const a = answer as Record<string, unknown>;
  if (a.error_code !== undefined) return `error ${String(a.error_code).slice(0, 20)}: ${String(a.error_desc ?? '').slice(0, 120)}`;
  if (a.code !== 0 && a.code !== '0') return `code ${String(a.code).slice(0, 20)}: ${String(a.msg ?? a.desc ?? '').slice(0, 120)}`;
  return undefined;
}

/**
 * One device's deviceStatusList answer as source events: the properties whose timestamp is not
 * the one in `seen` (datasetId → timestamp, updated here), one dataReport per instant, oldest
 * first, shaped as CTWing pushes a dataReport so the device's model reads both alike. A
 * malformed entry is one refused event; a refusal (code ≠ 0) is thrown, for the poller to count.
 */
export function statusListEvents(externalId: string, answer: unknown, seen: Map<string, number>): SourceEvent[] {
  const refusal = ctwingRefusal(answer);
  if (refusal) throw new Error(`deviceStatusList: ${refusal}`);
  const list = (answer as Record<string, unknown>).deviceStatusList;
  if (list === undefined || list === null) return []; // a device that has reported nothing yet
  if (!Array.isArray(list)) return [{ type: 'refused', externalId, reason: 'deviceStatusList is not a list' }];
  const events: SourceEvent[] = [];
  const byInstant = new Map<number, Record<string, unknown>>();
  for (const raw of list.slice(0, 500) as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    // The API guide's own example writes the key " datasetId": names are read trimmed.
    const e = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.trim(), v])) as Record<string, unknown>;
    const name = e.datasetId;
    const at = typeof e.timestamp === 'string' && /^\d{1,15}$/.test(e.timestamp) ? Number(e.timestamp) : e.timestamp;
    if (typeof name !== 'string' || name === '' || name.length > 64 || e.value === undefined) continue;
    if (typeof at !== 'number' || !Number.isSafeInteger(at) || at <= 0) {
      events.push({ type: 'refused', externalId, reason: `property ${name.slice(0, 40)}: timestamp is not Unix milliseconds` });
      continue;
    }
    if (seen.get(name) === at) continue;
    seen.set(name, at);
    const props = byInstant.get(at) ?? {};
    props[name] = e.value;
    byInstant.set(at, props);
  }
  for (const at of [...byInstant.keys()].sort((a, b) => a - b))
    events.push({ type: 'data', externalId, input: { json: { messageType: 'dataReport', payload: byInstant.get(at)! }, ts: at } });
  return events;
}

export interface CtwingListedDevice {
  deviceId: string;
  imei?: string;
  name?: string;
  online?: boolean;
}

/** The devices of one page of `GET /aep_device_management/devices`, and how many the product has in all. */
export function deviceListPage(answer: unknown): { devices: CtwingListedDevice[]; total: number } {
  const refusal = ctwingRefusal(answer);
  if (refusal) throw new Error(`devices: ${refusal}`);
  const result = (answer as { result?: { list?: unknown; total?: unknown } }).result;
  if (!result || !Array.isArray(result.list)) throw new Error('devices: the answer has no result.list');
  const devices: CtwingListedDevice[] = [];
  for (const raw of result.list as Array<Record<string, unknown> | null>) {
    const id = raw?.deviceId;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) continue;
    const imei = text(raw!.imei);
    const name = text(raw!.deviceName);
    const net = raw!.netStatus;
    devices.push({
      deviceId: id,
      ...(imei && /^\d{15}$/.test(imei) ? { imei } : {}),
      ...(name ? { name: name.slice(0, 64) } : {}),
      ...(net === undefined || net === null ? {} : { online: net === 1 || net === '1' }),
    });
  }
  const total = typeof result.total === 'number' && Number.isSafeInteger(result.total) ? result.total : devices.length;
  return { devices, total };
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
