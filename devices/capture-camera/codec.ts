import { Type } from '@sinclair/typebox';
import { StringEnum } from '../../core/schema.js';
import { deviceTime, jsonPayload } from '../payload.js';
import { decodeStatus } from '../status.js';
import type { Capture, DecodeContext, DecodeResult } from '../types.js';
import { normalizePlate } from '../../contracts/plate.js';
import { plateColor } from './plates.js';

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

export const CaptureSchema = Type.Object(
  {
    ts: Type.Optional(Type.Integer({ minimum: 0, description: 'device time in milliseconds since the Unix epoch' })),
    subject: StringEnum(['face', 'plate'] as const),
    image: Type.String({
      minLength: 4,
      maxLength: Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 4,
      description: 'JPEG or PNG, base64, up to 2 MiB',
    }),
    plate: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'plate text as read, for plate captures' })),
    plateColor: Type.Optional(Type.String({ maxLength: 8, description: 'blue, yellow, green, white, black (or 蓝 黄 绿 白 黑)' })),
    confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "the camera's confidence, 0..1" })),
    direction: Type.Optional(StringEnum(['in', 'out'] as const)),
  },
  { additionalProperties: false },
);

const parse = {
  capture: jsonPayload(CaptureSchema, 3 * 1024 * 1024),
  heartbeat: jsonPayload(Type.Object({ ts: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }), 256),
};

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes base64 image data and names its type by its first bytes; anything but JPEG or PNG is refused. */
export function decodeImage(data: string): { ok: true; image: Buffer; mime: string } | { ok: false; detail: string } {
  // Some uploads wrap the base64 as a data URI (data:image/jpeg;base64,…).
  const clean = data.replace(/^data:image\/[a-z+.-]+;base64,/i, '').replace(/\s/g, '');
  if (!BASE64.test(clean) || clean.length % 4 !== 0) return { ok: false, detail: 'image is not base64' };
  const image = Buffer.from(clean, 'base64');
  if (image.length > MAX_IMAGE_BYTES) return { ok: false, detail: `image is ${image.length} bytes, limit ${MAX_IMAGE_BYTES}` };
  if (image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return { ok: true, image, mime: 'image/jpeg' };
  if (image.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return { ok: true, image, mime: 'image/png' };
  return { ok: false, detail: 'image is neither JPEG nor PNG' };
}

export function decode(channel: string, payload: Buffer, ctx: DecodeContext): DecodeResult {
  switch (channel) {
    case 'capture': {
      const p = parse.capture(payload);
      if (!p.ok) return p;
      const v = p.value;
      const img = decodeImage(v.image);
      if (!img.ok) return { ok: false, reason: 'schema', detail: img.detail };
      if (v.subject === 'plate' && !v.plate)
        return { ok: false, reason: 'schema', detail: 'plate: missing (a plate capture must carry the plate text)' };
      const capture: Capture = {
        type: 'capture',
        subject: v.subject,
        image: img.image,
        mime: img.mime,
        ts: deviceTime(v.ts, ctx.receivedAt),
      };
      if (v.plate) capture.plate = normalizePlate(v.plate);
      const color = plateColor(v.plateColor);
      if (color) capture.plateColor = color;
      if (v.confidence !== undefined) capture.confidence = v.confidence;
      if (v.direction) capture.direction = v.direction;
      return { ok: true, messages: [capture] };
    }
    case 'heartbeat': {
      const p = parse.heartbeat(payload);
      return p.ok ? { ok: true, messages: [] } : p;
    }
    case 'status':
      return decodeStatus(payload, ctx);
    default:
      return { ok: false, reason: 'unknown_channel', detail: `capture-camera has no channel '${channel}'` };
  }
}
