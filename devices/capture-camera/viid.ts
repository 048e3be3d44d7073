/**
 * GA/T 1400 (公安视频图像信息应用系统, 视图库) for smart cameras that upload captures over HTTP:
 * register, keep alive, and post faces and motor vehicles with their images. Each device signs
 * in with HTTP Digest as itself and may post only objects carrying its own DeviceID; each object
 * is answered in the ResponseStatusList, so one bad object never costs the others.
 */
import { Type, type Static } from '@sinclair/typebox';
import { compile, describeErrors, payloadAjv } from '../../core/schema.js';
import type { Capture, HttpRoute, KindContext } from '../types.js';
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
          Data: Type.String({ minLength: 4 }),
          FileFormat: Type.Optional(Type.String({ maxLength: 16 })),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: 8 },
    ),
  },
  { additionalProperties: true },
);
const FaceObject = Type.Object(
  {
    FaceID: Type.String({ minLength: 1, maxLength: 64 }),
    DeviceID: Type.String({ minLength: 1, maxLength: 64 }),
    FaceAppearTime: Type.Optional(Time14),
    ShotTime: Type.Optional(Time14),
    SubImageList: SubImages,
  },
  { additionalProperties: true },
);
const VehicleObject = Type.Object(
  {
    MotorVehicleID: Type.String({ minLength: 1, maxLength: 64 }),
    DeviceID: Type.String({ minLength: 1, maxLength: 64 }),
    PlateNo: Type.String({ minLength: 1, maxLength: 16 }),
    PlateColor: Type.Optional(Type.String({ maxLength: 8 })),
    PassTime: Type.Optional(Time14),
    Direction: Type.Optional(Type.String({ maxLength: 8 })),
    SubImageList: SubImages,
  },
  { additionalProperties: true },
);
const validateFace = compile(payloadAjv, FaceObject);
const validateVehicle = compile(payloadAjv, VehicleObject);

/** GA/T 1400 times are local (China, UTC+8, no daylight saving). */
export function viidTime(t: string | undefined, fallback: number): number {
  if (!t) return fallback;
  const iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}+08:00`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}

function localTime(ms = Date.now()): string {
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

export function viidRoutes(ctx: KindContext): HttpRoute[] {
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
  const authed = (req: Req): { ok: true; user: string } => {
    if (req.user === undefined) throw new Error('a GA/T 1400 route ran without its authentication');
    return { ok: true, user: req.user };
  };

  const single = (url: string, objectKey: 'RegisterObject' | 'KeepaliveObject') => async (req: Req) => {
    const a = authed(req);
    const id = (req.body as Record<string, { DeviceID?: unknown } | undefined> | null)?.[objectKey]?.DeviceID;
    if (id !== a.user)
      return {
        status: 400,
        body: { ResponseStatusObject: status(String(id ?? ''), url, 4, `${objectKey}.DeviceID must be the authenticated device`) },
      };
    await ctx.ingest(a.user, []); // counts as a heartbeat
    return { status: 200, body: { ResponseStatusObject: status(a.user, url, 0, 'OK') } };
  };

  const list =
    <T extends { DeviceID: string; SubImageList: Static<typeof SubImages> }>(
      url: string,
      listKey: string,
      objectKey: string,
      idKey: string,
      validate: (v: unknown) => v is T,
      errors: () => string,
      toCapture: (o: T, image: Buffer, mime: string) => Capture,
    ) =>
    async (req: Req) => {
      const a = authed(req);
      const objects = (req.body as Record<string, Record<string, unknown> | undefined> | null)?.[listKey]?.[objectKey];
      if (!Array.isArray(objects) || objects.length === 0 || objects.length > MAX_OBJECTS) {
        ctx.reject(
          a.user,
          url,
          'schema',
          `${listKey}.${objectKey}: expected 1-${MAX_OBJECTS} objects`,
          Buffer.from(JSON.stringify(req.body ?? null).slice(0, 512)),
        );
        return {
          status: 400,
          body: { ResponseStatusObject: status('', url, 8, `${listKey}.${objectKey}: expected 1-${MAX_OBJECTS} objects`) },
        };
      }
      const answers: Status[] = [];
      const captures: Capture[] = [];
      for (const o of objects as unknown[]) {
        const id = String((o as Record<string, unknown> | null)?.[idKey] ?? '');
        const refuse = (detail: string) => {
          ctx.reject(a.user, url, 'schema', detail, Buffer.from(JSON.stringify(o ?? null).slice(0, 512)));
          answers.push(status(id, url, 8, detail));
        };
        if (!validate(o)) {
          refuse(errors());
          continue;
        }
        if (o.DeviceID !== a.user) {
          refuse('DeviceID is not the authenticated device');
          continue;
        }
        const info = o.SubImageList.SubImageInfoObject[0]!;
        const img = decodeImage(info.Data);
        if (!img.ok) {
          refuse(`SubImageList: ${img.detail}`);
          continue;
        }
        captures.push(toCapture(o, img.image, img.mime));
        answers.push(status(id, url, 0, 'OK'));
      }
      if (captures.length) await ctx.ingest(a.user, captures);
      return { status: 200, body: { ResponseStatusListObject: { ResponseStatusObject: answers } } };
    };

  const route = (url: string, handler: HttpRoute['handler']): HttpRoute => ({
    method: 'POST',
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
    route('/VIID/System/Register', single('/VIID/System/Register', 'RegisterObject')),
    route('/VIID/System/Keepalive', single('/VIID/System/Keepalive', 'KeepaliveObject')),
    route(
      '/VIID/Faces',
      list(
        '/VIID/Faces',
        'FaceListObject',
        'FaceObject',
        'FaceID',
        validateFace,
        () => describeErrors(validateFace.errors).join('; '),
        (o, image, mime) => ({ type: 'capture', subject: 'face', image, mime, ts: viidTime(o.FaceAppearTime ?? o.ShotTime, Date.now()) }),
      ),
    ),
    route(
      '/VIID/MotorVehicles',
      list(
        '/VIID/MotorVehicles',
        'MotorVehicleListObject',
        'MotorVehicleObject',
        'MotorVehicleID',
        validateVehicle,
        () => describeErrors(validateVehicle.errors).join('; '),
        (o, image, mime) => {
          const c: Capture = {
            type: 'capture',
            subject: 'plate',
            image,
            mime,
            plate: normalizePlate(o.PlateNo),
            ts: viidTime(o.PassTime, Date.now()),
          };
          const color = plateColor(o.PlateColor);
          if (color) c.plateColor = color;
          return c;
        },
      ),
    ),
  ];
}
