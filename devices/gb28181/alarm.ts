/**
 * Alarms (GB/T 28181-2016 §9.4, A.2.5.3 `<Notify><CmdType>Alarm`): a device reports an alarm by
 * MESSAGE (after 布防, SetGuard) or by NOTIFY (to an alarm SUBSCRIBE). The platform answers 200,
 * then a `<Response>` with `<Result>OK</Result>` (A.2.6.5). The method says where it comes from
 * (1 telephone, 2 device, 3 SMS, 4 GPS, 5 video analysis, 6 device fault, 7 other) and, for 2, 5
 * and 6, AlarmType says what (§9.4.2, A.2.5.3's note). AlarmTime is local time without a zone.
 */
import { fromLocal, toLocal } from '../../core/time.js';
import { type Charset, type ManscdpDocument, objects, text0, writeManscdp, type XmlChild } from './manscdp.js';

export interface GbAlarm {
  deviceId: string;
  /** 1 (一级警情, the most urgent) to 4; 0 when absent. */
  priority: number;
  method: number;
  type?: number;
  /** For intrusion (method 5, type 6): 1 entered, 2 left the zone. */
  eventType?: number;
  /** When it happened (the device's AlarmTime in the site's zone), else when it arrived. */
  at: number;
  description?: string;
  longitude?: number;
  latitude?: number;
}

export const ALARM_METHODS: Readonly<Record<number, string>> = {
  1: 'telephone',
  2: 'device',
  3: 'SMS',
  4: 'GPS',
  5: 'video analysis',
  6: 'device fault',
  7: 'other',
};

/**
 * Where each alarm lands: the incident category (`undefined` for motion, a reading and no
 * incident), and a name for people. Keys are `method` or `method.type`.
 */
const MAPPING: Readonly<Record<string, { category?: string; name: string }>> = {
  '2.1': { category: 'camera.video_lost', name: 'video loss' },
  '2.2': { category: 'camera.tamper', name: 'tamper (device opened)' },
  '2.3': { category: 'camera.storage_fault', name: 'storage full' },
  '2.4': { category: 'camera.device_fault', name: 'device too hot' },
  '2.5': { category: 'camera.device_fault', name: 'device too cold' },
  '2': { category: 'camera.alarm_input', name: 'alarm input' },
  '5.1': { category: 'camera.manual_alarm', name: 'manual video alarm' },
  '5.2': { name: 'motion' },
  '5.3': { category: 'camera.object_left', name: 'object left behind' },
  '5.4': { category: 'camera.object_removed', name: 'object removed' },
  '5.5': { category: 'camera.line_crossing', name: 'line crossing' },
  '5.6': { category: 'camera.intrusion', name: 'intrusion' },
  '5.7': { category: 'camera.wrong_way', name: 'wrong-way movement' },
  '5.8': { category: 'camera.loitering', name: 'loitering' },
  '5.9': { category: 'camera.flow_count', name: 'flow count over threshold' },
  '5.10': { category: 'camera.crowd_density', name: 'crowd density' },
  '5.11': { category: 'camera.tamper', name: 'video abnormal (covered, blurred, turned)' },
  '5.12': { category: 'camera.fast_moving', name: 'fast movement' },
  '5': { category: 'camera.alarm', name: 'video alarm' },
  '6.1': { category: 'camera.storage_fault', name: 'storage failure' },
  '6.2': { category: 'camera.device_fault', name: 'fan failure' },
  '6': { category: 'camera.device_fault', name: 'device fault' },
};

export function alarmMeaning(a: Pick<GbAlarm, 'method' | 'type'>): { category?: string; name: string } {
  return (
    (a.type !== undefined ? MAPPING[`${a.method}.${a.type}`] : undefined) ??
    MAPPING[String(a.method)] ?? { category: 'camera.alarm', name: `${ALARM_METHODS[a.method] ?? 'unknown'} alarm` }
  );
}

/** The categories alarms map to, and back: the type a category goes upward as (cascade). */
export function alarmOfCategory(category: string): { method: number; type?: number } | undefined {
  for (const [key, m] of Object.entries(MAPPING)) {
    if (m.category !== category) continue;
    const [method, type] = key.split('.').map(Number);
    return type === undefined ? { method: method! } : { method: method!, type };
  }
  return undefined;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

/** An Alarm NOTIFY/MESSAGE body; times in `tz`, the site's zone. */
export function parseAlarm(doc: ManscdpDocument, tz: string, receivedAt: number): GbAlarm {
  const b = doc.body;
  const info = objects(b.Info)[0];
  const param = objects(info?.AlarmTypeParam)[0];
  const time = text0(b.AlarmTime);
  const at = time ? fromLocal(time, tz) : Number.NaN;
  const lon = Number(text0(b.Longitude));
  const lat = Number(text0(b.Latitude));
  const type = int(text0(info?.AlarmType) ?? text0(b.AlarmType));
  const eventType = int(text0(param?.EventType));
  const description = text0(b.AlarmDescription);
  return {
    deviceId: doc.deviceId,
    priority: int(text0(b.AlarmPriority)) ?? 0,
    method: int(text0(b.AlarmMethod)) ?? 7,
    ...(type !== undefined ? { type } : {}),
    ...(eventType !== undefined ? { eventType } : {}),
    // A device clock far off (unset after a power cut) is not believed: arrival time instead.
    at: Number.isFinite(at) && Math.abs(at - receivedAt) < 24 * 3600_000 ? at : receivedAt,
    ...(description ? { description } : {}),
    ...(Number.isFinite(lon) && Number.isFinite(lat) && (lon !== 0 || lat !== 0) ? { longitude: lon, latitude: lat } : {}),
  };
}

/** An Alarm notification body (A.2.5.3), as a camera sends it and as the gateway sends it upward. */
export function alarmNotify(sn: number, a: GbAlarm, tz: string, charset: Charset): Buffer {
  const children: XmlChild[] = [
    ['AlarmPriority', a.priority || 4],
    ['AlarmMethod', a.method],
    ['AlarmTime', toLocal(a.at, tz).slice(0, 19)],
  ];
  if (a.description) children.push(['AlarmDescription', a.description]);
  if (a.longitude !== undefined && a.latitude !== undefined) children.push(['Longitude', a.longitude], ['Latitude', a.latitude]);
  if (a.type !== undefined) {
    const info: XmlChild[] = [['AlarmType', a.type]];
    if (a.eventType !== undefined) info.push(['AlarmTypeParam', [['EventType', a.eventType]]]);
    children.push(['Info', info]);
  }
  return writeManscdp('Notify', 'Alarm', sn, a.deviceId, children, charset);
}

/** The platform's answer to an alarm (A.2.6.5), after the 200 OK. */
export function alarmResponse(sn: number, deviceId: string, charset: Charset): Buffer {
  return writeManscdp('Response', 'Alarm', sn, deviceId, [['Result', 'OK']], charset);
}
