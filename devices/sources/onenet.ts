/**
 * China Mobile OneNET's HTTP data push (数据推送), as its developer manual (HTTP推送, 开发指南)
 * defines it. OneNET is the client, the gateway the server:
 *
 * - URL check: `GET <url>?msg=…&nonce=…&signature=…`; signature is Base64(MD5(token + nonce +
 *   msg)) with the token set on OneNET's push page; answer the msg itself when it matches.
 * - Data: `POST <url>` with `{"msg": …, "msg_signature": …, "nonce": …}` (plain mode), signed
 *   the same way over the msg's JSON text; `msg` is one message or a list. A message has `type`
 *   (1 a data point, 2 online/offline), `dev_id`, `imei` (NB-IoT devices), `ds_id` (a data
 *   stream; for NB-IoT the LwM2M path `obj_inst_res`, e.g. `3200_0_5500`), `at` (ms), `value`,
 *   `status` (1 online, 0 offline). Anything but HTTP 200 makes OneNET push it again: the
 *   gateway answers at once and takes a repeat only once.
 *
 * A device is named by its IMEI (NB-IoT) or its OneNET dev_id.
 *
 * Where OneNET's push cannot reach the gateway (no public address, a site behind NAT), the
 * gateway polls OneNET's API instead (`poll`), as OneNET's NB-IoT application guide documents it,
 * with the product's master key in the `api-key` header:
 * - `GET /devices/getbyimei?imei=…` → `{"errno":0,"data":{"id":"5241665","online":true,…}}`, the
 *   device id and whether it is online (once per device, then its id is kept);
 * - `GET /devices/{id}/datastreams` → `{"errno":0,"data":[{"id":"3200_0_5500","current_value":1,
 *   "update_at":"2026-12-03 09:23:17"},…]}`, each data stream's latest value, its time in Beijing
 *   time (UTC+8). A value is taken when its update_at is new; the first poll takes them all (the
 *   state the gateway has not seen).
 */
import { createHash } from 'node:crypto';
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

export const OnenetConfig = Type.Object(
  {
    token: Type.Optional(
      Type.String({ minLength: 3, maxLength: 64, description: "the push page's token (or GRIDEDGE_SOURCE_TOKEN_ONENET)" }),
    ),
    path: Type.String({
      pattern: '^/push/[A-Za-z0-9_-]{1,64}$',
      default: '/push/onenet',
      description: 'where OneNET pushes, on the API port',
    }),
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 4_194_304, default: 262_144 }),
    poll: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://api.heclouds.com', description: "OneNET's API" }),
          apiKey: Type.Optional(
            Type.String({ minLength: 8, maxLength: 128, description: "the product's master key (or GRIDEDGE_SOURCE_APIKEY_ONENET)" }),
          ),
          ...PollTiming,
        },
        {
          additionalProperties: false,
          description: "read OneNET's API for the devices' latest values, where OneNET's push cannot reach the gateway",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export interface OnenetPollSettings extends PollTimingSettings {
  url: string;
  apiKey?: string;
}
export interface OnenetSettings {
  token?: string;
  path: string;
  maxBodyBytes: number;
  poll?: OnenetPollSettings;
}

/** OneNET's times ("2026-12-03 09:23:17") are Beijing time, UTC+8: the instant they name, or undefined. */
export function beijingTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?$/.test(text)) return undefined;
  const t = Date.parse(`${text.replace(' ', 'T')}+08:00`);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * One device's `GET /devices/{id}/datastreams` answer as source events: each stream whose
 * update_at is not the one in `seen` (stream → update_at, updated here). A malformed answer is
 * one refused event; an OneNET error (errno ≠ 0) is thrown, for the poller to count and log.
 */
export function datastreamEvents(imei: string, answer: unknown, seen: Map<string, string>): SourceEvent[] {
  const a = answer as { errno?: unknown; error?: unknown; data?: unknown } | null;
  if (!a || typeof a !== 'object') return [{ type: 'refused', externalId: imei, reason: 'datastreams answer is not a JSON object' }];
  if (a.errno !== 0) throw new Error(`OneNET errno ${String(a.errno)}: ${String(a.error ?? '').slice(0, 120)}`);
  if (!Array.isArray(a.data)) return [{ type: 'refused', externalId: imei, reason: 'datastreams answer has no data list' }];
  const events: SourceEvent[] = [];
  for (const s of a.data.slice(0, 500) as Array<Record<string, unknown>>) {
    if (typeof s?.id !== 'string' || s.current_value === undefined) continue; // a stream with no value yet
    const at = beijingTime(s.update_at);
    if (at === undefined) {
      events.push({ type: 'refused', externalId: imei, reason: `stream ${s.id.slice(0, 40)}: update_at is not a Beijing time` });
      continue;
    }
    if (seen.get(s.id) === s.update_at) continue;
    seen.set(s.id, s.update_at as string);
    events.push({ type: 'data', externalId: imei, input: { json: { ds_id: s.id, value: s.current_value as never }, ts: at } });
  }
  return events;
}

/** Base64(MD5(token + nonce + msg)): OneNET's signature. */
export function onenetSignature(token: string, nonce: string, msg: string): string {
  return createHash('md5').update(`${token}${nonce}${msg}`, 'utf8').digest('base64');
}

export const onenet: PushSourceDefinition<OnenetSettings> = {
  name: 'onenet',
  description: "NB-IoT devices through China Mobile OneNET's HTTP data push",
  configSchema: OnenetConfig,
  path: (c) => c.path,
  handle(req, c): PushResult {
    const token = c.token;
    if (!token) return refuse(503, 'sources.onenet.token is not set');
    if (req.method === 'GET') {
      const { msg, nonce, signature } = req.query;
      if (!msg || !nonce || !signature) return refuse(400, 'the URL check needs msg, nonce and signature');
      if (!sameSecret(onenetSignature(token, nonce, msg), signature)) return refuse(403, 'signature does not match the token');
      return { status: 200, body: msg, events: [] };
    }
    if (req.method !== 'POST') return refuse(405, 'GET (URL check) or POST (data) only');
    if (req.body.length > c.maxBodyBytes) return refuse(413, `body of ${req.body.length} bytes is over the limit`);
    const text = req.body.toString('utf8');
    let body: { msg?: unknown; msg_signature?: unknown; nonce?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return refuse(400, 'body is not JSON');
    }
    if (typeof body.nonce !== 'string' || typeof body.msg_signature !== 'string' || body.msg === undefined)
      return refuse(400, 'body needs msg, msg_signature and nonce (plain mode)');
    // Signed over msg's JSON text as sent: a string msg is its own text; an object is taken as it
    // stands in the body (spacing and key order kept), or else as its compact JSON.
    const texts =
      typeof body.msg === 'string' ? [body.msg] : [rawMember(text, 'msg'), JSON.stringify(body.msg)].filter((t) => t !== undefined);
    const nonce = body.nonce;
    const signature = body.msg_signature;
    if (!texts.some((t) => sameSecret(onenetSignature(token, nonce, t), signature)))
      return refuse(403, 'msg_signature does not match the token');
    let msg: unknown = body.msg;
    if (typeof msg === 'string') {
      try {
        msg = JSON.parse(msg);
      } catch {
        return refuse(400, 'msg is not JSON');
      }
    }
    const list = (Array.isArray(msg) ? msg : [msg]).slice(0, 1000) as Array<Record<string, unknown>>;
    const events: SourceEvent[] = [];
    const keys: string[] = [];
    for (const m of list) {
      const id =
        typeof m?.imei === 'string'
          ? m.imei
          : typeof m?.dev_id === 'number' || typeof m?.dev_id === 'string'
            ? String(m.dev_id)
            : undefined;
      const at = typeof m?.at === 'number' ? m.at : undefined;
      if (!id) {
        events.push({ type: 'refused', reason: 'message names no imei or dev_id' });
        keys.push('');
        continue;
      }
      if (m.type === 1) {
        if (typeof m.ds_id !== 'string') {
          events.push({ type: 'refused', externalId: id, reason: 'data point without ds_id' });
          keys.push('');
          continue;
        }
        events.push({
          type: 'data',
          externalId: id,
          input: { json: { ds_id: m.ds_id, value: m.value as never }, ...(at ? { ts: at } : {}) },
        });
        keys.push(`${id}|${m.ds_id}|${at ?? ''}|${JSON.stringify(m.value)}`);
      } else if (m.type === 2) {
        events.push({ type: 'availability', externalId: id, online: m.status === 1 });
        keys.push(`${id}|status|${at ?? ''}|${String(m.status)}`);
      } else {
        events.push({ type: 'ignored' });
        keys.push('');
      }
    }
    return { status: 200, body: 'ok', events, keys };
  },
};

/** The raw JSON text of a top-level member of an object (`{"msg": {...}, …}` → `{...}`), as it stands. */
export function rawMember(json: string, key: string): string | undefined {
  const n = json.length;
  const skipString = (from: number): number => {
    let j = from + 1;
    while (j < n && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  /** The end of the value starting at `k` (just past it). */
  const skipValue = (k: number): number => {
    let d = 0;
    while (k < n) {
      const c = json[k]!;
      if (c === '"') {
        k = skipString(k);
        if (d === 0) return k;
        continue;
      }
      if (c === '{' || c === '[') d++;
      else if (c === '}' || c === ']') {
        if (d === 0) return k;
        d--;
        if (d === 0) return k + 1;
      } else if (c === ',' && d === 0) return k;
      k++;
    }
    return k;
  };
  let i = json.indexOf('{');
  if (i < 0) return undefined;
  i++;
  while (i < n) {
    while (i < n && /[\s,]/.test(json[i]!)) i++;
    if (json[i] !== '"') return undefined;
    const end = skipString(i);
    let name: unknown;
    try {
      name = JSON.parse(json.slice(i, end));
    } catch {
      return undefined;
    }
    let k = end;
    while (k < n && /\s/.test(json[k]!)) k++;
    if (json[k] !== ':') return undefined;
    k++;
    while (k < n && /\s/.test(json[k]!)) k++;
    const valueEnd = skipValue(k);
    if (name === key) return json.slice(k, valueEnd).trim();
    i = valueEnd;
  }
  return undefined;
}
