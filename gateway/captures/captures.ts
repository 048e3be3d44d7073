/**
 * Captures to the centre (gridedge.capture/v1): every face, plate, person and vehicle track's
 * best shot, from the gateway's detectors and from smart cameras alike, as one message per
 * track. The images go through the evidence path first (stored, masked unless allowed, queued
 * for the push sink), then the message is queued durably and published at QoS 1 on
 * `…/capture` in order, across outages and restarts; bounded per camera per minute (more are
 * counted and kept on the gateway only). A camera's own repeated capture of the same plate
 * within `captures.dedupeSeconds` is the same track and is not sent again.
 *
 * Every capture is also written to an index on disk (captures/index.jsonl: id, time, camera,
 * subject, plate and the images' sha256s), which a purge of a subject's data reads (purge.ts).
 */
import { type PlateType, plateType } from '../../contracts/plate.js';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { monotonicFactory } from 'ulidx';
import { CAPTURE_SCHEMA_ID, type CaptureMessage, type CaptureSubject, captureTopic } from '../../contracts/capture.js';
import type { Counters } from '../../core/counters.js';
import { DeliveryQueue } from '../../core/delivery-queue.js';
import type { Logger } from '../../core/log.js';
import type { RgbImage } from '../../detectors/types.js';
import type { EvidenceClass } from '../../devices/types.js';
import type { Config } from '../config/schema.js';
import type { Evidence } from '../evidence/service.js';
import type { Service } from '../services.js';
import { confusions } from '../../devices/capture-camera/watchlists.js';
import { type ViidApe, ViidUplink } from './viid-uplink.js';

export interface CaptureInput {
  camera: string;
  grid: string;
  source: 'detector' | 'camera';
  subject: CaptureSubject;
  /** The track it is the best shot of; a camera's own capture has none (the gateway names one). */
  track?: string;
  firstAt: number;
  lastAt: number;
  frames?: number;
  score?: number;
  quality?: number;
  plate?: string;
  color?: string;
  direction?: 'in' | 'out';
  crop?: { bytes: Buffer; mime: string };
  /** The whole frame: raw pixels (encoded here) or a camera's JPEG, with the subject's box in it. */
  scene?: { image?: RgbImage; bytes?: Buffer; mime?: string; box?: { x: number; y: number; w: number; h: number } };
}

/** What a smart camera says of one capture it made itself. */
export interface CameraRead {
  camera: string;
  grid: string;
  subject: CaptureSubject;
  at: number;
  confidence?: number;
  plate?: string;
  color?: string;
  direction?: 'in' | 'out';
  crop?: { bytes: Buffer; mime: string };
  scene?: { bytes: Buffer; mime: string };
}

/** A camera's own capture as a capture of the gateway's (the track is named by the gateway). */
export function cameraCaptureInput(r: CameraRead): CaptureInput {
  return {
    camera: r.camera,
    grid: r.grid,
    source: 'camera',
    subject: r.subject,
    firstAt: r.at,
    lastAt: r.at,
    ...(r.confidence !== undefined ? { score: r.confidence } : {}),
    ...(r.plate ? { plate: r.plate } : {}),
    ...(r.color ? { color: r.color } : {}),
    ...(r.direction ? { direction: r.direction } : {}),
    ...(r.crop ? { crop: r.crop } : {}),
    ...(r.scene ? { scene: r.scene } : {}),
  };
}

/** What the purge reads: one line per capture. */
export interface CaptureIndexEntry {
  id: string;
  at: string;
  camera: string;
  subject: CaptureSubject;
  plate?: string;
  /** Every image of it on the gateway: sent (masked) and original. */
  sha256s: string[];
}

const CLASS_OF: Record<CaptureSubject, EvidenceClass> = { face: 'face', plate: 'plate', person: 'person', vehicle: 'vehicle' };

export interface CapturesOptions {
  config: Config;
  evidence: Evidence;
  /** The upstream root and a QoS 1 publish (the uplink), when captures go upstream. */
  upstream?: { root: string; publish: (topic: string, payload: string) => Promise<void> };
  counters: Counters;
  log: Logger;
  /**
   * Whether a camera's plates come both from its own analytics and from the gateway's plate
   * detector: its plate captures are then held `captures.reconcileSeconds` to be made one.
   */
  reconciles?: (camera: string) => boolean;
}

interface Held {
  input: CaptureInput;
  sources: Set<CaptureInput['source']>;
  timer: NodeJS.Timeout;
  resolve: (m: CaptureMessage | undefined) => void;
}

/** How good a shot is, for choosing between a camera's read and the detector's: quality, else score; the camera's on a tie. */
function goodness(c: CaptureInput): number {
  return (c.quality ?? c.score ?? 0.5) + (c.crop ? 0.001 : 0) + (c.source === 'camera' ? 0.0001 : 0);
}

export class Captures implements Service {
  readonly name = 'captures';
  private readonly queue?: DeliveryQueue<CaptureMessage>;
  /** The city's 视图库, when captures.viid is set: the same captures as GA/T 1400 objects. */
  readonly viid?: ViidUplink;
  private readonly newId = monotonicFactory();
  private readonly recentByKey = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  readonly indexFile: string;
  private readonly recentMessages: CaptureMessage[] = [];
  /** Records under way (images, index line, queue): stop() waits for them, so none writes into a stopped gateway's folder. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Plate captures waiting for the other source's read of the same vehicle, per camera. */
  private readonly held = new Map<string, Held[]>();

  constructor(private readonly opts: CapturesOptions) {
    const { config, counters, log } = opts;
    this.indexFile = path.join(config.dataDir, 'captures', 'index.jsonl');
    const up = opts.upstream;
    if (up && config.captures.upstream) {
      const topic = captureTopic(up.root);
      this.queue = new DeliveryQueue<CaptureMessage>({
        dir: path.join(config.dataDir, 'capture-outbox'),
        maxBytes: config.captures.maxPendingMB * 1024 * 1024,
        maxAgeMs: config.captures.maxPendingHours * 3600_000,
        deliver: (m) => up.publish(topic, JSON.stringify(m)),
        onDelivered: (m) => counters.inc('captures_published_total', { subject: m.subject }),
        onDrop: (m, reason) => {
          counters.inc('captures_dropped_total', { reason });
          log.warn({ capture: m.id, camera: m.camera, reason }, 'capture dropped before it reached the centre');
        },
        onError: (_m, err, attempt) => {
          if (attempt === 1 || attempt % 10 === 0) log.debug({ err: err.message, attempt }, 'capture publish failed; retrying');
        },
      });
    }
    const viid = config.captures.viid;
    if (viid?.password) {
      const store = opts.evidence.store;
      this.viid = new ViidUplink(
        { ...viid, password: viid.password },
        config.dataDir,
        async (sha) => (await store.get(sha))?.bytes,
        counters,
        log.child({ to: 'viid' }),
        () => viidApes(config, viid.deviceId),
      );
    }
  }

  start(): void {
    this.queue?.start();
    this.viid?.start();
  }

  async stop(): Promise<void> {
    // The cameras and detectors stop first; what they handed over (held ones too) is finished, then the queues stop.
    for (const list of [...this.held.values()]) for (const h of [...list]) this.release(h);
    await Promise.allSettled([...this.inFlight]);
    this.queue?.stop();
    await this.viid?.stop();
  }

  /** The uplink connected: publish now. */
  wake(): void {
    this.queue?.wake();
  }

  idle(): Promise<void> {
    return this.queue?.idle() ?? Promise.resolve();
  }

  stats() {
    return this.queue?.stats();
  }

  /** The latest capture messages, newest first. */
  recent(limit = 50): CaptureMessage[] {
    return this.recentMessages.slice(-limit).reverse();
  }

  /** Takes captures out of what is waiting and of the recent list (a purge); returns how many left the queue. */
  async forget(ids: ReadonlySet<string>): Promise<number> {
    for (let i = this.recentMessages.length - 1; i >= 0; i--) if (ids.has(this.recentMessages[i]!.id)) this.recentMessages.splice(i, 1);
    return (await this.queue?.remove((m) => ids.has(m.id))) ?? 0;
  }

  /** Records one capture; resolves to its message, or undefined when it was folded into an earlier one. */
  record(input: CaptureInput): Promise<CaptureMessage | undefined> {
    if (input.subject === 'plate' && input.plate && this.opts.config.captures.reconcileSeconds > 0 && this.opts.reconciles?.(input.camera))
      return this.hold(input);
    return this.track(this.recordNow(input));
  }

  private track(p: Promise<CaptureMessage | undefined>): Promise<CaptureMessage | undefined> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * A plate on a camera read both by itself and by the gateway's detector: the first read waits
   * up to reconcileSeconds for the other's read of the same plate (the same text, or one OCR
   * look-alike apart); then the better shot of the two goes, once, with both reads' times.
   * The second read resolves as folded.
   */
  private hold(input: CaptureInput): Promise<CaptureMessage | undefined> {
    const list = this.held.get(input.camera) ?? [];
    const same = list.find((h) => h.input.plate === input.plate || confusions(input.plate!, h.input.plate!, 1) !== undefined);
    if (same) {
      const best = goodness(input) > goodness(same.input) ? input : same.input;
      // The detector's track names the vehicle whichever shot is kept.
      const track = best.track ?? same.input.track ?? input.track;
      same.input = {
        ...best,
        firstAt: Math.min(input.firstAt, same.input.firstAt),
        lastAt: Math.max(input.lastAt, same.input.lastAt),
        ...(track ? { track } : {}),
      };
      const repeat = same.sources.has(input.source);
      same.sources.add(input.source);
      this.opts.counters.inc(repeat ? 'captures_folded_total' : 'captures_reconciled_total', { camera: input.camera });
      if (same.sources.size > 1) this.release(same);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      const h: Held = {
        input,
        sources: new Set([input.source]),
        resolve,
        timer: setTimeout(() => this.release(h), this.opts.config.captures.reconcileSeconds * 1000),
      };
      list.push(h);
      this.held.set(input.camera, list);
    });
  }

  private release(h: Held): void {
    clearTimeout(h.timer);
    const list = this.held.get(h.input.camera) ?? [];
    const i = list.indexOf(h);
    if (i < 0) return;
    list.splice(i, 1);
    if (!list.length) this.held.delete(h.input.camera);
    this.track(this.recordNow(h.input)).then(h.resolve, () => h.resolve(undefined));
  }

  private async recordNow(input: CaptureInput): Promise<CaptureMessage | undefined> {
    const { config, counters } = this.opts;
    // A camera repeats a plate while the car waits at the barrier; its face captures are each a
    // face (the camera tracks faces itself), so only plates fold.
    if (input.source === 'camera' && input.plate && this.repeated(input)) {
      counters.inc('captures_folded_total', { camera: input.camera });
      return undefined;
    }
    const cls = CLASS_OF[input.subject];
    const crop = input.crop ? await this.image(input.crop.bytes, input.crop.mime, cls, input.camera) : undefined;
    const sceneBytes =
      config.captures.scene && input.scene
        ? (input.scene.bytes ?? (input.scene.image ? await jpegOf(input.scene.image) : undefined))
        : undefined;
    const scene = sceneBytes
      ? await this.image(sceneBytes, input.scene?.mime ?? 'image/jpeg', 'scene', input.camera, input.scene?.box)
      : undefined;
    const id = this.newId(input.lastAt);
    const message: CaptureMessage = {
      schema: CAPTURE_SCHEMA_ID,
      id,
      gatewayId: config.gateway.id,
      grid: input.grid,
      camera: input.camera,
      source: input.source,
      subject: input.subject,
      track: input.track ?? `${input.camera}:${id}`,
      firstAt: new Date(input.firstAt).toISOString(),
      lastAt: new Date(input.lastAt).toISOString(),
      ...(input.frames ? { frames: input.frames } : {}),
      ...(input.score !== undefined ? { score: clamp01(input.score) } : {}),
      ...(input.quality !== undefined ? { quality: clamp01(input.quality) } : {}),
      ...(input.plate ? { plate: plateField(input.plate, input.color) } : {}),
      ...(input.direction ? { direction: input.direction } : {}),
      ...(crop ? { crop: crop.image } : {}),
      ...(scene ? { scene: scene.image } : {}),
      ...(scene && input.scene?.box ? { box: input.scene.box } : {}),
    };
    await this.index({
      id,
      at: message.lastAt,
      camera: input.camera,
      subject: input.subject,
      ...(input.plate ? { plate: input.plate } : {}),
      sha256s: [...(crop?.sha256s ?? []), ...(scene?.sha256s ?? [])],
    });
    this.recentMessages.push(message);
    if (this.recentMessages.length > 500) this.recentMessages.shift();
    counters.inc('captures_total', { subject: input.subject, source: input.source });
    if (!this.queue && !this.viid) return message;
    if (!this.admit(input.camera, input.lastAt)) {
      counters.inc('captures_rate_limited_total', { camera: input.camera });
      return message;
    }
    await this.queue?.put(message, Buffer.byteLength(JSON.stringify(message)));
    await this.viid?.offer(message);
    return message;
  }

  private async image(
    bytes: Buffer,
    mime: string,
    cls: EvidenceClass,
    camera: string,
    box?: { x: number; y: number; w: number; h: number },
  ) {
    const out = await this.opts.evidence.outgoing({
      bytes,
      mime,
      class: cls,
      camera,
      ...(box ? { boxes: [{ ...box, label: cls === 'scene' ? undefined : cls }] } : {}),
    });
    const meta = await sharp(out.bytes)
      .metadata()
      .catch(() => undefined);
    return {
      sha256s: out.masked ? [out.ref.sha256, out.original.sha256] : [out.ref.sha256],
      image: {
        sha256: out.ref.sha256,
        mime: out.ref.mime,
        bytes: out.ref.bytes,
        ...(meta?.width ? { width: meta.width } : {}),
        ...(meta?.height ? { height: meta.height } : {}),
        ...(out.masked ? { masked: true } : {}),
        ...(out.delivery ? { delivery: out.delivery } : {}),
        url: this.opts.evidence.linkTo(out.ref.sha256),
      },
    };
  }

  /** The same camera reporting the same plate again within the window. */
  private repeated(input: CaptureInput): boolean {
    const key = `${input.camera}|${input.subject}|${input.plate ?? ''}`;
    const last = this.recentByKey.get(key);
    this.recentByKey.set(key, input.lastAt);
    if (this.recentByKey.size > 10_000) this.recentByKey.delete(this.recentByKey.keys().next().value!);
    return last !== undefined && Math.abs(input.lastAt - last) < this.opts.config.captures.dedupeSeconds * 1000;
  }

  /** A token bucket per camera: `maxPerMinute` on average, as a burst too. */
  private admit(camera: string, at: number): boolean {
    const rate = this.opts.config.captures.maxPerMinute;
    const b = this.buckets.get(camera) ?? { tokens: rate, at };
    b.tokens = Math.min(rate, b.tokens + ((Math.max(at, b.at) - b.at) / 60_000) * rate);
    b.at = Math.max(at, b.at);
    this.buckets.set(camera, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async index(entry: CaptureIndexEntry): Promise<void> {
    await mkdir(path.dirname(this.indexFile), { recursive: true });
    await appendFile(this.indexFile, `${JSON.stringify(entry)}\n`);
  }
}

/** The gateway itself and every camera and capture camera whose id is a 20-digit GA/T 1400 code: the DeviceIDs its objects name. */
function viidApes(config: Config, gatewayDeviceId: string): ViidApe[] {
  const place = (grid: string) => grid.slice(0, 6);
  const coded = (id: string) => /^\d{20}$/.test(id) && id !== gatewayDeviceId;
  return [
    { ApeID: gatewayDeviceId, Name: `gridedge ${config.gateway.id}`, Model: 'gridedge', PlaceCode: place(config.gateway.grid) },
    ...config.cameras.filter((c) => coded(c.id)).map((c) => ({ ApeID: c.id, Name: c.name ?? c.id, PlaceCode: place(c.grid) })),
    ...config.devices
      .filter((d) => d.kind === 'capture-camera' && coded(d.id))
      .map((d) => ({
        ApeID: d.id,
        Name: d.name ?? d.id,
        PlaceCode: place(d.grid ?? config.gateway.grid),
        ...(d.location ? { Longitude: d.location.lon, Latitude: d.location.lat } : {}),
      })),
  ];
}

function clamp01(n: number): number {
  return Math.round(Math.min(1, Math.max(0, n)) * 1000) / 1000;
}

function jpegOf(image: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The capture's plate: its text, colour and type (contracts/plate.ts, from text and colour). */
function plateField(text: string, color: string | undefined): { text: string; color?: string; type?: PlateType } {
  const type = plateType(text, color);
  return { text, ...(color ? { color } : {}), ...(type ? { type } : {}) };
}
