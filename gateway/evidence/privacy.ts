/**
 * Personal data in what leaves the gateway (PIPL art. 26 on images gathered in public places,
 * GB/T 35273 §6 on de-identification): faces and plates are blurred in every image that is
 * pushed, inlined or sent as a thumbnail, unless the site's config allows the class. A face or
 * plate crop is the personal data itself, so it is blurred whole; in a scene or snapshot the
 * regions are found (the boxes a detector already drew, BlazeFace for faces, the OCR's text
 * regions for plates: every text region, read or not, so an unreadable plate is blurred too)
 * and blurred in place. When a finder cannot run, the whole image is blurred: masking fails
 * closed. The original stays on the gateway (its retention, its access log).
 */
import sharp from 'sharp';
import type { EvidenceClass } from '../../contracts/incident.js';
import type { Box, RgbImage } from '../../detectors/types.js';

export type PersonalClass = 'face' | 'plate';

/** Finds regions of one class in an image; an error means "could not look", and the image is blurred whole. */
export type RegionFinder = (image: RgbImage) => Promise<Box[]>;

export interface MaskResult {
  bytes: Buffer;
  mime: string;
  /** What was blurred: `whole` (a crop, or a finder failed) or a number of regions per class. */
  masked: false | { whole: boolean; face: number; plate: number };
}

export interface KnownBox extends Box {
  label?: string;
}

export class Masker {
  constructor(
    private readonly allow: ReadonlySet<PersonalClass>,
    private readonly finders: Partial<Record<PersonalClass, RegionFinder>>,
  ) {}

  /** Classes whose images are personal data as a whole. */
  private static whole(cls: EvidenceClass): PersonalClass | undefined {
    return cls === 'face' || cls === 'plate' ? cls : undefined;
  }

  /** The image as it may leave the gateway. */
  async mask(bytes: Buffer, mime: string, cls: EvidenceClass, known: KnownBox[] = []): Promise<MaskResult> {
    const blocked = (['face', 'plate'] as const).filter((c) => !this.allow.has(c));
    if (blocked.length === 0) return { bytes, mime, masked: false };
    const crop = Masker.whole(cls);
    if (crop && blocked.includes(crop)) return { ...(await blurWhole(bytes)), masked: { whole: true, face: 0, plate: 0 } };
    let raw: RgbImage;
    try {
      raw = await decode(bytes);
    } catch {
      return { ...(await blurWhole(bytes)), masked: { whole: true, face: 0, plate: 0 } };
    }
    const regions: Array<Box & { label: PersonalClass }> = [];
    const counts = { face: 0, plate: 0 };
    for (const label of blocked) {
      const given = known.filter((b) => b.label === label);
      let found: Box[];
      try {
        const finder = this.finders[label];
        if (!finder) throw new Error(`no ${label} finder`);
        found = await finder(raw);
      } catch {
        return { ...(await blurWhole(bytes)), masked: { whole: true, face: 0, plate: 0 } };
      }
      for (const b of [...given, ...found]) regions.push({ ...b, label });
      counts[label] = given.length + found.length;
    }
    if (regions.length === 0) return { bytes, mime, masked: false };
    return { ...(await blurRegions(raw, regions)), masked: { whole: false, ...counts } };
  }
}

async function decode(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Heavy enough that no face or character survives it, at any size. */
async function blurWhole(bytes: Buffer): Promise<{ bytes: Buffer; mime: string }> {
  const meta = await sharp(bytes)
    .metadata()
    .catch(() => ({ width: 64, height: 64 }));
  const w = meta.width ?? 64;
  const h = meta.height ?? 64;
  // A tiny down-scale pixelates beyond recognition; blur over it hides the blocks' edges.
  const small = await sharp(bytes)
    .resize(Math.max(1, Math.round(w / 24)), Math.max(1, Math.round(h / 24)), { fit: 'fill' })
    .toBuffer()
    .catch(() => undefined);
  if (!small) {
    // Not an image sharp can read: nothing of it leaves, a grey card in its place.
    const grey = await sharp({ create: { width: w, height: h, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .jpeg()
      .toBuffer();
    return { bytes: grey, mime: 'image/jpeg' };
  }
  const out = await sharp(small)
    .resize(w, h, { kernel: 'nearest' })
    .blur(Math.max(2, Math.min(w, h) / 40))
    .jpeg({ quality: 80 })
    .toBuffer();
  return { bytes: out, mime: 'image/jpeg' };
}

async function blurRegions(raw: RgbImage, regions: Box[]): Promise<{ bytes: Buffer; mime: string }> {
  const overlays: sharp.OverlayOptions[] = [];
  for (const r of regions) {
    // Grown by a fifth each way: a detector's box is tight, hair, ears and a plate's frame identify too.
    const gx = r.w * 0.2;
    const gy = r.h * 0.2;
    const left = clamp(Math.floor(r.x - gx), 0, raw.width - 1);
    const top = clamp(Math.floor(r.y - gy), 0, raw.height - 1);
    const width = clamp(Math.ceil(r.w + 2 * gx), 1, raw.width - left);
    const height = clamp(Math.ceil(r.h + 2 * gy), 1, raw.height - top);
    const sigma = Math.max(4, Math.min(width, height) / 3);
    const input = await sharp(Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.length), {
      raw: { width: raw.width, height: raw.height, channels: 3 },
    })
      .extract({ left, top, width, height })
      .resize(Math.max(1, Math.round(width / 8)), Math.max(1, Math.round(height / 8)), { fit: 'fill' })
      .resize(width, height, { kernel: 'nearest' })
      .blur(sigma)
      .png()
      .toBuffer();
    overlays.push({ input, left, top });
  }
  const out = await sharp(Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.length), {
    raw: { width: raw.width, height: raw.height, channels: 3 },
  })
    .composite(overlays)
    .jpeg({ quality: 85 })
    .toBuffer();
  return { bytes: out, mime: 'image/jpeg' };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/** A small JPEG of the image for inside the incident: within the size, quality lowered until it fits. */
export async function thumbnail(
  bytes: Buffer,
  opts: { maxWidth: number; maxHeight: number; quality: number; maxBytes: number },
): Promise<{ bytes: Buffer; width: number; height: number } | undefined> {
  let quality = opts.quality;
  let scale = 1;
  for (let attempt = 0; attempt < 8; attempt++) {
    const { data, info } = await sharp(bytes)
      .rotate() // EXIF orientation, as a viewer would show it
      .resize(Math.round(opts.maxWidth * scale), Math.round(opts.maxHeight * scale), { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality, mozjpeg: true })
      .toBuffer({ resolveWithObject: true });
    if (data.length <= opts.maxBytes) return { bytes: data, width: info.width, height: info.height };
    if (quality > 30) quality = Math.max(30, quality - 15);
    else scale *= 0.7;
  }
  return undefined;
}
