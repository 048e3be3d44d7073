/**
 * GA/T 1400 (公安视频图像信息应用系统, 视图库) for smart cameras that upload captures over HTTP:
 * register, keep alive, and post faces and motor vehicles with their images. Each device signs
 * in with HTTP Digest as itself and may post only objects carrying its own DeviceID; each object
 * is answered in the ResponseStatusList, so one bad object never costs the others.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { compile, describeErrors, payloadAjv } from '../../core/schema.js';
import type { Capture, HttpRoute, KindContext, Normalized } from '../types.js';
import { decodeImage } from './codec.js';
import { DigestAuth } from '../../core/http-digest.js';
import { normalizePlate } from '../../contracts/plate.js';
import { plateColor } from './plates.js';

export const VIID_REALM = 'gridedge-viid';
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const MAX_OBJECTS = 100;

const Time14 = Type.String({ pattern: '^\\d{14}$', description: 'local time YYYYMMDDhhmmss' });
const SubImages = Type.Object(
  {
    SubImageInfoObject: Type.Array(
      Type.Object(
        {
          Type: Type.Optional(Type.String({ maxLength: 8 })),
          Data: Type.Optional(Type.String({ minLength: 4 })),
          StoragePath: Type.Optional(Type.String({ maxLength: 512, description: 'where the picture is, when it is not in Data' })),
          FileFormat: Type.Optional(Type.String({ maxLength: 16 })),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: 8 },
    ),
  },
  { additionalProperties: true },
);
const Id = Type.String({ minLength: 1, maxLength: 64 });
const object = (props: Record<string, TSchema>) =>
  Type.Object({ DeviceID: Id, SubImageList: SubImages, ...props }, { additionalProperties: true });
const FaceObject = object({ FaceID: Id, FaceAppearTime: Type.Optional(Time14), ShotTime: Type.Optional(Time14) });
const PersonObject = object({ PersonID: Id, PersonAppearTime: Type.Optional(Time14), ShotTime: Type.Optional(Time14) });
const VehicleObject = object({
  MotorVehicleID: Id,
  PlateNo: Type.String({ minLength: 1, maxLength: 16 }),
  PlateColor: Type.Optional(Type.String({ maxLength: 8 })),
  PassTime: Type.Optional(Time14),
  Direction: Type.Optional(Type.String({ maxLength: 8 })),
});
const NonMotorObject = object({ NonMotorVehicleID: Id, AppearTime: Type.Optional(Time14), ShotTime: Type.Optional(Time14) });
type ViidObject = Static<ReturnType<typeof object>> & Record<string, unknown>;

/**
 * GA/T 1400's picture types (SubImageInfo.Type, 图像类型), read for which sub-image is the
 * subject's close-up: 11 人脸图, 02 车牌彩色小图 (else 09 车辆特写图), 10 人员图, 12 非机动车图; and
 * which the whole scene: 14 场景图, 01 车辆大图, 100 一般图片.
 */
const CROP_TYPES: Readonly<Record<Capture['subject'], readonly string[]>> = {
  face: ['11'],
  plate: ['02', '09'],
  person: ['10'],
  vehicle: ['12'],
};
const SCENE_TYPES: readonly string[] = ['14', '01', '100'];

interface ObjectKind {
  /** The resource (POST /VIID/Faces …) and its list and object keys. */
  url: string;
  listKey: string;
  objectKey: string;
  idKey: string;
  subject: Capture['subject'];
  /** As it is named inside a SubscribeNotificationObject (FaceObjectList …). */
  notificationKey: string;
  validate: ((v: unknown) => boolean) & { errors?: unknown };
  time: (o: ViidObject) => string | undefined;
  extra?: (o: ViidObject) => Partial<Capture>;
}

const OBJECT_KINDS: readonly ObjectKind[] = [
  {
    url: '/VIID/Faces',
    listKey: 'FaceListObject',
    objectKey: 'FaceObject',
    idKey: 'FaceID',
    subject: 'face',
    notificationKey: 'FaceObjectList',
    validate: compile(payloadAjv, FaceObject),
    time: (o) => (o.FaceAppearTime ?? o.ShotTime) as string | undefined,
  },
  {
    url: '/VIID/Persons',
    listKey: 'PersonListObject',
    objectKey: 'PersonObject',
    idKey: 'PersonID',
    subject: 'person',
    notificationKey: 'PersonObjectList',
    validate: compile(payloadAjv, PersonObject),
    time: (o) => (o.PersonAppearTime ?? o.ShotTime) as string | undefined,
  },
  {
    url: '/VIID/MotorVehicles',
    listKey: 'MotorVehicleListObject',
    objectKey: 'MotorVehicleObject',
    idKey: 'MotorVehicleID',
    subject: 'plate',
    notificationKey: 'MotorVehicleObjectList',
    validate: compile(payloadAjv, VehicleObject),
    time: (o) => o.PassTime as string | undefined,
    extra: (o) => {
      const color = plateColor(o.PlateColor as string | undefined);
      return { plate: normalizePlate(o.PlateNo as string), ...(color ? { plateColor: color } : {}) };
    },
  },
  {
    url: '/VIID/NonMotorVehicles',
    listKey: 'NonMotorVehicleListObject',
    objectKey: 'NonMotorVehicleObject',
    idKey: 'NonMotorVehicleID',
    subject: 'vehicle',
    notificationKey: 'NonMotorVehicleObjectList',
    validate: compile(payloadAjv, NonMotorObject),
    time: (o) => (o.AppearTime ?? o.ShotTime) as string | undefined,
  },
];

/** A subject's GA/T 1400 resource (POST /VIID/Faces …), its list and object keys, and the picture type of its close-up. */
export function viidResource(subject: Capture['subject']): {
  url: string;
  listKey: string;
  objectKey: string;
  idKey: string;
  cropType: string;
} {
  const k = OBJECT_KINDS.find((x) => x.subject === subject)!;
  return { url: k.url, listKey: k.listKey, objectKey: k.objectKey, idKey: k.idKey, cropType: CROP_TYPES[subject][0]! };
}

const ApeObject = Type.Object(
  {
    ApeID: Type.String({ pattern: '^\\d{20}$', description: 'the APE (采集设备) code, 20 digits' }),
    Name: Type.Optional(Type.String({ maxLength: 100 })),
    Model: Type.Optional(Type.String({ maxLength: 100 })),
    IPAddr: Type.Optional(Type.String({ maxLength: 64 })),
    Port: Type.Optional(Type.Union([Type.Integer(), Type.String({ maxLength: 8 })])),
    Longitude: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 16 })])),
    Latitude: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 16 })])),
    PlaceCode: Type.Optional(Type.String({ maxLength: 32 })),
    IsOnline: Type.Optional(Type.Union([Type.String({ maxLength: 2 }), Type.Integer()])),
  },
  { additionalProperties: true },
);
const validateApe = compile(payloadAjv, ApeObject);
const MAX_APES_PER_SYSTEM = 4096;

/** GA/T 1400 times are local (China, UTC+8, no daylight saving). */
export function viidTime(t: string | undefined, fallback: number): number {
  if (!t) return fallback;
  const iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}+08:00`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

export function localTime(ms = Date.now()): string {
  return new Date(ms + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

interface Status {
  ID: string;
  RequestURL: string;
  StatusCode: number;
  StatusString: string;
  LocalTime: string;
}

const status = (id: string, url: string, code: number, text: string): Status => ({
  ID: id,
  RequestURL: url,
  StatusCode: code,
  StatusString: text,
  LocalTime: localTime(),
});

type Req = Parameters<HttpRoute['handler']>[0];

/** The APEs (采集设备) a lower system has declared (POST /VIID/APEs), per system: objects from them are its own. */
export class ApeRegistry {
  private readonly bySystem = new Map<string, Map<string, Record<string, unknown>>>();

  declare(system: string, ape: Record<string, unknown> & { ApeID: string }): boolean {
    const apes = this.bySystem.get(system) ?? new Map<string, Record<string, unknown>>();
    if (!apes.has(ape.ApeID) && apes.size >= MAX_APES_PER_SYSTEM) return false;
    apes.set(ape.ApeID, ape);
    this.bySystem.set(system, apes);
    return true;
  }

  /** Whether `deviceId` is the system itself or one of its declared APEs. */
  owns(system: string, deviceId: string): boolean {
    return deviceId === system || Boolean(this.bySystem.get(system)?.has(deviceId));
  }

  list(system: string): Array<Record<string, unknown>> {
    return [...(this.bySystem.get(system)?.values() ?? [])];
  }
}

export interface ViidOptions {
  /** Fetch a sub-image given only by its StoragePath (an http(s) URL on the sender's side). */
  fetchStoragePath?: boolean;
}

export function viidRoutes(ctx: KindContext, serverId: string, opts: ViidOptions = {}, apes = new ApeRegistry()): HttpRoute[] {
  const digest = new DigestAuth(VIID_REALM, (user) => ctx.digestHA1(user, VIID_REALM));
  // Runs before the body is read (HttpRoute.authenticate): the digest covers this request's URI.
  const authenticate: HttpRoute['authenticate'] = (req) => {
    const auth = req.headers.authorization;
    const r = digest.verify(req.method, req.url, typeof auth === 'string' ? auth : undefined);
    if (r.ok) return r;
    return {
      ok: false,
      status: 401,
      body: { ResponseStatusObject: status('', req.url.split('?')[0]!, 4, `Unauthorized: ${r.reason}`) },
      headers: { 'www-authenticate': r.challenge },
    };
  };
  const authed = (req: Req): string => {
    if (req.user === undefined) throw new Error('a GA/T 1400 route ran without its authentication');
    return req.user;
  };
  const sample = (v: unknown) => Buffer.from(JSON.stringify(v ?? null).slice(0, 512));

  /** Register, Keepalive, UnRegister: one object naming the signed-in device. */
  const single =
    (url: string, objectKey: 'RegisterObject' | 'KeepaliveObject' | 'UnRegisterObject', then: (user: string) => Promise<void> | void) =>
    async (req: Req) => {
      const user = authed(req);
      const id = (req.body as Record<string, { DeviceID?: unknown } | undefined> | null)?.[objectKey]?.DeviceID;
      if (id !== user)
        return {
          status: 400,
          body: {
            ResponseStatusObject: status(String(id ?? '').slice(0, 64), url, 4, `${objectKey}.DeviceID must be the authenticated device`),
          },
        };
      await then(user);
      return { status: 200, body: { ResponseStatusObject: status(user, url, 0, 'OK') } };
    };

  /**
   * One object of a kind, read: answered in the status list, its capture added when it is good.
   * The crop is the sub-image of the subject's type (else the first); the scene, when there is
   * one, goes with it. A sub-image that is not an image is kept among the device's rejections;
   * only the crop's failure refuses the object.
   */
  /**
   * A sub-image's picture: its base64 Data, or — when it has only a StoragePath and
   * fetchStoragePath is on — the picture fetched from there (http or https, 5 s, 8 MiB at most).
   */
  const picture = async (info: { Data?: string; StoragePath?: string }): Promise<ReturnType<typeof decodeImage>> => {
    if (info.Data) return decodeImage(info.Data);
    const where = info.StoragePath;
    if (!where) return { ok: false, detail: 'a sub-image with neither Data nor StoragePath' };
    if (!opts.fetchStoragePath)
      return { ok: false, detail: 'the picture is only at its StoragePath (kinds.capture-camera.fetchStoragePath: true fetches it)' };
    if (!/^https?:\/\//i.test(where)) return { ok: false, detail: 'StoragePath is not an http(s) URL' };
    try {
      const res = await fetch(where, { signal: AbortSignal.timeout(5000) });
      const bytes = Buffer.from(await res.arrayBuffer());
      if (!res.ok) return { ok: false, detail: `StoragePath answered HTTP ${res.status}` };
      if (bytes.length > MAX_UPLOAD_BYTES) return { ok: false, detail: `StoragePath's picture is over ${MAX_UPLOAD_BYTES} bytes` };
      return decodeImage(bytes.toString('base64'));
    } catch (err) {
      return { ok: false, detail: `StoragePath could not be fetched: ${(err as Error).message.slice(0, 120)}` };
    }
  };

  const readObject = async (user: string, kind: ObjectKind, o: unknown, answers: Status[], captures: Capture[], url: string) => {
    const id = String((o as Record<string, unknown> | null)?.[kind.idKey] ?? '').slice(0, 64);
    const refuse = (detail: string) => {
      ctx.reject(user, url, 'schema', detail, sample(o));
      answers.push(status(id, url, 8, detail));
    };
    if (!kind.validate(o)) return refuse(describeErrors(kind.validate.errors as never).join('; '));
    const obj = o as ViidObject;
    if (typeof obj[kind.idKey] !== 'string' || !obj[kind.idKey]) return refuse(`${kind.idKey} is missing`);
    if (!apes.owns(user, obj.DeviceID)) return refuse('DeviceID is not the authenticated device nor one of its APEs');
    const images = obj.SubImageList.SubImageInfoObject;
    const pick = (types: readonly string[]) => images.find((i) => i.Type !== undefined && types.includes(i.Type));
    const cropInfo = pick(CROP_TYPES[kind.subject]) ?? images[0]!;
    const crop = await picture(cropInfo);
    if (!crop.ok) return refuse(`SubImageList: ${crop.detail}`);
    const sceneInfo = pick(SCENE_TYPES);
    let scene: Capture['scene'];
    if (sceneInfo && sceneInfo !== cropInfo) {
      const s = await picture(sceneInfo);
      if (s.ok) scene = { image: s.image, mime: s.mime };
      else ctx.reject(user, url, 'schema', `${kind.idKey} ${id}: scene sub-image (Type ${sceneInfo.Type}): ${s.detail}`, sample(o));
    }
    captures.push({
      type: 'capture',
      subject: kind.subject,
      image: crop.image,
      mime: crop.mime,
      ...(scene ? { scene } : {}),
      ts: viidTime(kind.time(obj), Date.now()),
      ...kind.extra?.(obj),
    });
    answers.push(status(id, url, 0, 'OK'));
  };

  /**
   * The objects a container holds (a notification's FaceObjectList …, an image's FaceList …),
   * each read as if posted to its own resource; `fill` gives an object without sub-images its
   * picture. Their statuses, one per object.
   */
  const readContained = async (
    user: string,
    container: Record<string, unknown>,
    key: (k: ObjectKind) => string,
    captures: Capture[],
    url: string,
    fill?: Record<string, unknown>,
  ): Promise<Status[]> => {
    const inner: Status[] = [];
    for (const kind of OBJECT_KINDS) {
      const objects = (container[key(kind)] as Record<string, unknown> | undefined)?.[kind.objectKey];
      if (!Array.isArray(objects)) continue;
      for (const o of objects.slice(0, MAX_OBJECTS)) {
        const filled = fill && o && typeof o === 'object' && !(o as Record<string, unknown>).SubImageList ? { ...o, ...fill } : o;
        await readObject(user, kind, filled, inner, captures, url);
      }
    }
    return inner;
  };

  /** One status for a container of objects: OK when all were taken, else how many were refused and the first reason. */
  const summary = (id: string, url: string, inner: Status[]): Status => {
    const refused = inner.filter((s) => s.StatusCode !== 0);
    return refused.length
      ? status(id, url, 8, `${refused.length} of ${inner.length} objects refused: ${refused[0]!.StatusString}`)
      : status(id, url, 0, 'OK');
  };

  const badList = (user: string, url: string, what: string, body: unknown) => {
    const detail = `${what}: expected 1-${MAX_OBJECTS} objects`;
    ctx.reject(user, url, 'schema', detail, sample(body));
    return { status: 400, body: { ResponseStatusObject: status('', url, 8, detail) } };
  };

  const list = (kind: ObjectKind) => async (req: Req) => {
    const user = authed(req);
    const objects = (req.body as Record<string, Record<string, unknown> | undefined> | null)?.[kind.listKey]?.[kind.objectKey];
    if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_OBJECTS)
      return badList(user, kind.url, `${kind.listKey}.${kind.objectKey}`, req.body);
    const answers: Status[] = [];
    const captures: Capture[] = [];
    for (const o of objects as unknown[]) await readObject(user, kind, o, answers, captures, kind.url);
    if (captures.length) await ctx.ingest(user, captures);
    return { status: 200, body: { ResponseStatusListObject: { ResponseStatusObject: answers } } };
  };

  /**
   * What a lower system sends for a subscription the centre (or this gateway) made on it: each
   * SubscribeNotificationObject carries its objects in FaceObjectList, MotorVehicleObjectList …;
   * they are read as if posted to their own resource, answered once per notification.
   */
  const notifications = async (req: Req) => {
    const url = '/VIID/SubscribeNotifications';
    const user = authed(req);
    const list = (req.body as { SubscribeNotificationListObject?: { SubscribeNotificationObject?: unknown } } | null)
      ?.SubscribeNotificationListObject?.SubscribeNotificationObject;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OBJECTS)
      return badList(user, url, 'SubscribeNotificationListObject.SubscribeNotificationObject', req.body);
    const answers: Status[] = [];
    const captures: Capture[] = [];
    for (const n of list as Array<Record<string, unknown> | null>) {
      const id = String(n?.NotificationID ?? '').slice(0, 64);
      if (!n || typeof n !== 'object' || !id) {
        ctx.reject(user, url, 'schema', 'a notification without NotificationID', sample(n));
        answers.push(status(id, url, 8, 'NotificationID is missing'));
        continue;
      }
      const inner = await readContained(user, n, (k) => k.notificationKey, captures, url);
      answers.push(inner.length ? summary(id, url, inner) : status(id, url, 8, 'the notification carries no object gridedge reads'));
    }
    if (captures.length) await ctx.ingest(user, captures);
    return { status: 200, body: { ResponseStatusListObject: { ResponseStatusObject: answers } } };
  };

  /**
   * Images (图像): each ImageObject is a picture (`ImageInfo` and its base64 `Data`) with, maybe,
   * the objects seen in it (FaceList, PersonList, MotorVehicleList, NonMotorVehicleList). The
   * picture is stored as scene evidence and written to the series (`viid_image`); each object in
   * it is read as if posted to its own resource, the picture its scene and, when the object has
   * no sub-image of its own, its close-up too.
   */
  const images = async (req: Req) => {
    const url = '/VIID/Images';
    const user = authed(req);
    const list = (req.body as { ImageListObject?: { ImageObject?: unknown } } | null)?.ImageListObject?.ImageObject;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OBJECTS)
      return badList(user, url, 'ImageListObject.ImageObject', req.body);
    const answers: Status[] = [];
    const messages: Normalized[] = [];
    for (const raw of list as Array<Record<string, unknown> | null>) {
      const info = (raw?.ImageInfo ?? {}) as Record<string, unknown>;
      const id = String(info.ImageID ?? '').slice(0, 64);
      const refuse = (detail: string) => {
        ctx.reject(user, url, 'schema', detail, sample(raw));
        answers.push(status(id, url, 8, detail));
      };
      if (!raw || typeof raw !== 'object' || !id) {
        refuse('ImageInfo.ImageID is missing');
        continue;
      }
      if (typeof info.DeviceID !== 'string' || !apes.owns(user, info.DeviceID)) {
        refuse('ImageInfo.DeviceID is not the authenticated device nor one of its APEs');
        continue;
      }
      const img = typeof raw.Data === 'string' ? decodeImage(raw.Data) : undefined;
      if (!img?.ok) {
        refuse(`Data: ${img ? img.detail : 'missing'}`);
        continue;
      }
      const ts = viidTime(typeof info.ShotTime === 'string' ? info.ShotTime : undefined, Date.now());
      const sha256 = await ctx.storeEvidence({ bytes: img.image, class: 'scene', mime: img.mime });
      messages.push({ type: 'reading', measurement: 'viid_image', fields: { sha256, bytes: img.image.length, image_id: id }, ts });
      const captures: Capture[] = [];
      // An object without a sub-image of its own is seen in the image: the image is its picture.
      const seenIn = { SubImageList: { SubImageInfoObject: [{ Type: '14', Data: raw.Data }] } };
      const inner = await readContained(user, raw, (k) => k.notificationKey.replace('ObjectList', 'List'), captures, url, seenIn);
      messages.push(...captures);
      answers.push(inner.length ? summary(id, url, inner) : status(id, url, 0, 'OK'));
    }
    if (messages.length) await ctx.ingest(user, messages);
    return { status: 200, body: { ResponseStatusListObject: { ResponseStatusObject: answers } } };
  };

  /** A lower system's APEs (采集设备): declared so their objects are its own. */
  const declareApes = async (req: Req) => {
    const url = '/VIID/APEs';
    const user = authed(req);
    const list = (req.body as { APEListObject?: { APEObject?: unknown } } | null)?.APEListObject?.APEObject;
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000) return badList(user, url, 'APEListObject.APEObject', req.body);
    const answers = (list as unknown[]).map((a) => {
      const id = String((a as Record<string, unknown> | null)?.ApeID ?? '').slice(0, 64);
      if (!validateApe(a)) {
        const detail = describeErrors(validateApe.errors).join('; ');
        ctx.reject(user, url, 'schema', detail, sample(a));
        return status(id, url, 8, detail);
      }
      return apes.declare(user, a) ? status(id, url, 0, 'OK') : status(id, url, 8, `more than ${MAX_APES_PER_SYSTEM} APEs`);
    });
    await ctx.ingest(user, []);
    return { status: 200, body: { ResponseStatusListObject: { ResponseStatusObject: answers } } };
  };

  const route = (url: string, handler: HttpRoute['handler'], method: 'GET' | 'POST' = 'POST'): HttpRoute => ({
    method,
    url,
    access: 'device',
    bodyLimit: MAX_UPLOAD_BYTES,
    authenticate,
    handler,
  });
  return [
    // Anything else under /VIID: signed in first, like every GA/T 1400 resource, then answered 404 in its form.
    {
      method: ['GET', 'POST', 'PUT', 'DELETE'],
      url: '/VIID/*',
      access: 'device',
      bodyLimit: MAX_UPLOAD_BYTES,
      authenticate,
      handler: async (req) => {
        const path = req.url.split('?')[0]!;
        return { status: 404, body: { ResponseStatusObject: status(req.user ?? '', path, 4, `no such resource: ${req.method} ${path}`) } };
      },
    },
    route(
      '/VIID/System/Register',
      single('/VIID/System/Register', 'RegisterObject', (u) => ctx.ingest(u, [])),
    ),
    route(
      '/VIID/System/Keepalive',
      single('/VIID/System/Keepalive', 'KeepaliveObject', (u) => ctx.ingest(u, [])),
    ),
    route(
      '/VIID/System/UnRegister',
      single('/VIID/System/UnRegister', 'UnRegisterObject', (u) => ctx.signedOff(u, 'it unregistered (GA/T 1400 UnRegister)')),
    ),
    // The server's clock, for a device to set its own (校时): local time, China's zone.
    route(
      '/VIID/System/Time',
      async (req) => {
        authed(req);
        return {
          status: 200,
          body: { SystemTimeObject: { VIIDServerID: serverId, TimeMode: '1', LocalTime: localTime(), TimeZone: 'Asia/Shanghai' } },
        };
      },
      'GET',
    ),
    ...OBJECT_KINDS.map((k) => route(k.url, list(k))),
    route('/VIID/SubscribeNotifications', notifications),
    route('/VIID/Images', images),
    route('/VIID/APEs', declareApes),
  ];
}
