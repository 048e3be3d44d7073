/**
 * Catalogs (GB/T 28181-2016 §9.5.3, A.2.4.3, A.2.6.4): what a device or platform holds — its
 * channels, and for platforms the civil codes, business groups and virtual organisations above
 * them. A response may come in several MESSAGEs, each with the total (SumNum) and its own part
 * (DeviceList Num): the collector gathers them until the total is reached. A Catalog NOTIFY
 * (§9.11.2) carries changes with an Event: ON, OFF, VLOST, DEFECT, ADD, DEL, UPDATE.
 */
import { isVideoChannel, parseGbId } from './ids.js';
import { type Charset, type ManscdpDocument, objects, text0, writeManscdp, type XmlChild, type XmlObject } from './manscdp.js';

export interface CatalogItem {
  id: string;
  name: string;
  manufacturer?: string;
  model?: string;
  owner?: string;
  civilCode?: string;
  address?: string;
  /** Whether it has children of its own (Parental 1). */
  parental: boolean;
  parentId?: string;
  /** ON, OFF as the device says it; `online` reads it. */
  status: string;
  online: boolean;
  longitude?: number;
  latitude?: number;
  /** 1 dome, 2 half-dome, 3 fixed, 4 remote-controlled fixed (Info/PTZType, A.2.4.3). */
  ptzType?: number;
  /** In a Catalog NOTIFY: what changed. */
  event?: string;
  /** Carries video (type 131 or 132): it can become a camera of the gateway. */
  video: boolean;
}

/** Status values as vendors send them (the standard says ON and OFF). */
function isOnline(status: string): boolean {
  return /^(on|online|ok)$/i.test(status.trim());
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function item(o: XmlObject): CatalogItem | undefined {
  const id = text0(o.DeviceID);
  if (!id) return undefined;
  const status = text0(o.Status) ?? 'ON';
  const info = objects(o.Info)[0];
  const lon = num(text0(o.Longitude));
  const lat = num(text0(o.Latitude));
  const opt = (key: string, v: string | undefined) => (v ? { [key]: v } : {});
  const ptz = num(text0(info?.PTZType));
  const event = text0(o.Event);
  return {
    id,
    name: text0(o.Name) ?? id,
    ...opt('manufacturer', text0(o.Manufacturer)),
    ...opt('model', text0(o.Model)),
    ...opt('owner', text0(o.Owner)),
    ...opt('civilCode', text0(o.CivilCode)),
    ...opt('address', text0(o.Address)),
    parental: text0(o.Parental) === '1',
    ...opt('parentId', text0(o.ParentID)),
    status,
    online: isOnline(status),
    // 0,0 is what devices send for "no position".
    ...(lon !== undefined && lat !== undefined && (lon !== 0 || lat !== 0) ? { longitude: lon, latitude: lat } : {}),
    ...(ptz !== undefined ? { ptzType: ptz } : {}),
    ...(event ? { event: event.toUpperCase() } : {}),
    video: isVideoChannel(id),
  };
}

/** The items of one Catalog Response or NOTIFY, and the total the sender announced. */
export function catalogPart(doc: ManscdpDocument): { sumNum: number; items: CatalogItem[] } {
  const list = objects(doc.body.DeviceList)[0];
  const items = objects(list?.Item).flatMap((o) => item(o) ?? []);
  const sumNum = num(text0(doc.body.SumNum)) ?? items.length;
  return { sumNum, items };
}

export interface CatalogEntry {
  id: string;
  name: string;
  online: boolean;
  manufacturer?: string;
  model?: string;
  civilCode?: string;
  address?: string;
  parentId?: string;
  longitude?: number;
  latitude?: number;
}

/**
 * One Catalog Response MESSAGE body. `parentId` is the answering device (or platform); video
 * channels go out as type 132 items with Parental 0, RegisterWay 1 (the standard's digest).
 */
export function catalogResponse(
  sn: number,
  deviceId: string,
  sumNum: number,
  entries: readonly CatalogEntry[],
  charset: Charset,
  civilCode: string,
): Buffer {
  const items = entries.map((e) => catalogItem(e, deviceId, civilCode));
  return writeManscdp(
    'Response',
    'Catalog',
    sn,
    deviceId,
    [
      ['SumNum', sumNum],
      ['DeviceList', items, { Num: entries.length }],
    ],
    charset,
  );
}

export type CatalogEvent = 'ADD' | 'DEL' | 'UPDATE' | 'ON' | 'OFF';

/**
 * §9.11.2 (目录通知): items that changed, each with its Event; a platform above keeps its
 * catalog of this device current with them instead of asking again.
 */
export function catalogNotify(
  sn: number,
  deviceId: string,
  changes: ReadonlyArray<CatalogEntry & { event: CatalogEvent }>,
  charset: Charset,
  civilCode: string,
): Buffer {
  const items: XmlChild[] = changes.map((c) => {
    const item = catalogItem(c, deviceId, civilCode);
    return ['Item', [...(item[1] as XmlChild[]), ['Event', c.event]]];
  });
  return writeManscdp(
    'Notify',
    'Catalog',
    sn,
    deviceId,
    [
      ['SumNum', changes.length],
      ['DeviceList', items, { Num: changes.length }],
    ],
    charset,
  );
}

function catalogItem(e: CatalogEntry, deviceId: string, civilCode: string): XmlChild {
  const fields: XmlChild[] = [
    ['DeviceID', e.id],
    ['Name', e.name],
    ['Manufacturer', e.manufacturer ?? 'gridedge'],
    ['Model', e.model ?? 'camera'],
    ['Owner', 'Owner'],
    ['CivilCode', e.civilCode ?? civilCode],
    ['Address', e.address ?? ''],
    ['Parental', 0],
    ['ParentID', e.parentId ?? deviceId],
    ['SafetyWay', 0],
    ['RegisterWay', 1],
    ['Secrecy', 0],
    ['Status', e.online ? 'ON' : 'OFF'],
  ];
  if (e.longitude !== undefined && e.latitude !== undefined) fields.push(['Longitude', e.longitude], ['Latitude', e.latitude]);
  return ['Item', fields];
}

/** Splits entries into Catalog Response bodies small enough for one UDP datagram each (§9.5.3: several are allowed). */
export function catalogResponses(
  sn: number,
  deviceId: string,
  entries: readonly CatalogEntry[],
  charset: Charset,
  civilCode: string,
  perMessage = 8,
): Buffer[] {
  if (!entries.length) return [catalogResponse(sn, deviceId, 0, [], charset, civilCode)];
  const out: Buffer[] = [];
  for (let i = 0; i < entries.length; i += perMessage)
    out.push(catalogResponse(sn, deviceId, entries.length, entries.slice(i, i + perMessage), charset, civilCode));
  return out;
}

/** Gathers the parts of one catalog answer (by device and SN) until SumNum items have come. */
export class CatalogCollector {
  private readonly pending = new Map<string, { items: Map<string, CatalogItem>; sumNum: number; done: (items: CatalogItem[]) => void }>();

  /** Waits for the answer to query `sn` of `deviceId`; resolves with what came when `timeoutMs` passes. */
  expect(deviceId: string, sn: number, timeoutMs: number): Promise<{ items: CatalogItem[]; complete: boolean }> {
    const key = `${deviceId}|${sn}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(key);
        this.pending.delete(key);
        resolve({ items: p ? [...p.items.values()] : [], complete: false });
      }, timeoutMs);
      this.pending.set(key, {
        items: new Map(),
        sumNum: Number.POSITIVE_INFINITY,
        done: (items) => {
          clearTimeout(timer);
          this.pending.delete(key);
          resolve({ items, complete: true });
        },
      });
    });
  }

  /** A Catalog Response part; false when nobody asked for it. */
  add(deviceId: string, doc: ManscdpDocument): boolean {
    const p = this.pending.get(`${deviceId}|${doc.sn}`);
    if (!p) return false;
    const part = catalogPart(doc);
    for (const i of part.items) p.items.set(i.id, i);
    p.sumNum = part.sumNum;
    if (p.items.size >= p.sumNum) p.done([...p.items.values()]);
    return true;
  }
}

/** What an item is, for people: its type's name from Annex D when its id is a GB id. */
export function itemType(id: string): string {
  return parseGbId(id)?.typeName ?? (/^\d{2,8}$/.test(id) ? 'civil code' : 'unknown');
}
