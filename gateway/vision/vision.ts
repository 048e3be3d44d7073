/**
 * Vision: camera frames → detectors (worker threads) → zones → tracks → series points, captures
 * and incidents. Runs only for cameras with `detect` in the config; starts and stops with the
 * gateway. Plates read here meet the same watchlists as plates from capture cameras
 * (kinds.capture-camera), so one blocked plate is one incident whichever camera saw it.
 */
import { type PlateType, plateType } from '../../contracts/plate.js';
import { Value } from '@sinclair/typebox/value';
import { annotate } from '../../detectors/annotate.js';
import { encodeJpeg } from '../../detectors/image.js';
import { COCO_LABELS, OBJECT_MIN_SCORE, VEHICLE_LABELS } from '../../detectors/object/labels.js';
import { type DetectorName, type DetectorSet, detectorSet } from '../../detectors/registry.js';
import { DetectorPool, type PoolStats } from '../../detectors/pipeline/pool.js';
import { Tracker, type Track, type TrackEvent } from '../../detectors/pipeline/tracker.js';
import { vetoVehicleLamps } from '../../detectors/fire/fire.js';
import { type BehaviourEvent, Behaviours, type Line } from '../../detectors/pipeline/behaviours.js';
import { admitted, zonesAt, type Zone } from '../../detectors/pipeline/zones.js';
import type { Detection, RgbImage } from '../../detectors/types.js';
import { plateIncident, Watchlists, WatchlistSchema, within, type WatchlistSettings } from '../../devices/capture-camera/watchlists.js';
import type { CameraManager } from '../../devices/camera/manager.js';
import type { Frame } from '../../devices/camera/frames.js';
import type { DeviceInfo, EvidenceClass, EvidenceInput, IncidentSignal } from '../../devices/types.js';
import type { Config, GatewayCamera } from '../config/schema.js';
import type { IncidentManager } from '../incidents/manager.js';
import type { Logger } from '../../core/log.js';
import type { Counters } from '../../core/counters.js';
import { toLine, type SeriesSink } from '../timeseries/sink.js';
import type { CaptureSubject } from '../../contracts/capture.js';
import type { CaptureInput } from '../captures/captures.js';

const SUBJECT: Partial<Record<EvidenceClass, CaptureSubject>> = { face: 'face', plate: 'plate', person: 'person', vehicle: 'vehicle' };
const CAPTURED: Record<string, EvidenceClass> = {
  face: 'face',
  plate: 'plate',
  person: 'person',
  bicycle: 'vehicle',
  car: 'vehicle',
  motorcycle: 'vehicle',
  bus: 'vehicle',
  truck: 'vehicle',
};

export interface Capture {
  track: string;
  camera: string;
  grid: string;
  label: string;
  firstAt: number;
  lastAt: number;
  frames: number;
  score: number;
  quality: number;
  plate?: string;
  color?: string;
  plateType?: PlateType;
  sha256?: string;
}

export interface CameraVision {
  camera: string;
  detectors: DetectorName[];
  frames: number;
  failures: number;
  lastAt?: number;
  lastMs?: number;
  /** Admitted detections in the last frame, by label. */
  last: Record<string, number>;
  tracks: number;
  /** Per line, crossings since the gateway started, by class and direction: `{ gate: { person: { in: 3, out: 1 } } }`. */
  crossings: Record<string, Record<string, { in: number; out: number }>>;
}

interface PerCamera {
  /** The camera config the detector set below was derived from (a re-created camera has a new one). */
  config: GatewayCamera;
  /** The detectors as run for tracking, and the score each label needs to start a track (trackingSet). */
  set: DetectorSet;
  highScore: Record<string, number>;
  tracker: Tracker;
  behaviours: Behaviours;
  /** The last frame read and what was kept of its detections, for the annotated view. */
  latest?: { image: RgbImage; detections: Detection[]; at: number };
  stats: CameraVision;
  /** Tracks that already raised their incident. */
  raised: Set<string>;
}

export interface VisionOptions {
  config: Config;
  cameras: CameraManager<GatewayCamera>;
  incidents: IncidentManager;
  sink: SeriesSink;
  counters: Counters;
  storeEvidence: (input: EvidenceInput) => Promise<{ sha256: string }>;
  /** Each track's capture with its images, for the captures upstream (gridedge.capture/v1). */
  onCapture?: (capture: CaptureInput) => Promise<unknown>;
  log: Logger;
  /** Each frame's time per detector (in its worker) and its wait for a free worker, in ms. */
  onTiming?: (ms: Record<string, number>, waitMs: number) => void;
}

export class Vision {
  private pool?: DetectorPool;
  private readonly per = new Map<string, PerCamera>();
  private readonly captures: Capture[] = [];
  private readonly watchlists: Watchlists;
  private readonly clock: Intl.DateTimeFormat;
  private removeConsumer?: () => void;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly lastRaised = new Map<string, number>();
  private running = false;

  constructor(private readonly opts: VisionOptions) {
    const settings = Value.Default(
      WatchlistSchema,
      structuredClone((opts.config.kinds as Record<string, unknown>)['capture-camera'] ?? {}),
    ) as WatchlistSettings;
    this.watchlists = new Watchlists(settings, opts.config.gateway.timezone);
    this.clock = new Intl.DateTimeFormat('en-GB', {
      timeZone: opts.config.vision.timezone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  }

  start(): void {
    this.running = true;
    this.removeConsumer = this.opts.cameras.addConsumer((frame) => this.onFrame(frame));
    this.opts.cameras.on('removed', this.forget);
  }

  /** A camera gone (its NVR channel, a drone's task): its open tracks end now (their captures go), its state is dropped. */
  private readonly forget = (camera: string): void => {
    const p = this.per.get(camera);
    if (!p) return;
    this.handle(camera, p, p.tracker.flush(), undefined, Date.now());
    this.per.delete(camera);
  };

  /** Worker threads start with the first frame that needs them: a gateway without detectors pays nothing. */
  private workers(): DetectorPool | undefined {
    if (!this.pool && this.running) {
      this.pool = new DetectorPool({
        workers: this.opts.config.vision.workers,
        onError: (err) => this.opts.log.error({ err: err.message }, 'detector worker failed'),
      });
      this.pool.start();
      this.opts.log.info({ workers: this.opts.config.vision.workers }, 'detector workers started');
    }
    return this.pool;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.removeConsumer?.();
    this.opts.cameras.off('removed', this.forget);
    await Promise.allSettled([...this.pending]);
    for (const [camera, p] of this.per) this.handle(camera, p, p.tracker.flush(), undefined, Date.now());
    await Promise.allSettled([...this.pending]);
    await this.pool?.stop();
  }

  health(): { workers?: PoolStats; cameras: CameraVision[] } {
    return {
      ...(this.pool ? { workers: this.pool.stats() } : {}),
      cameras: [...this.per.values()].map((p) => ({ ...p.stats, tracks: p.tracker.active.filter((t) => t.confirmed).length })),
    };
  }

  /** The camera's last frame with what the detectors kept drawn on it; undefined before its first. */
  async annotatedFrame(camera: string): Promise<{ jpeg: Buffer; at: number; detections: number } | undefined> {
    const latest = this.per.get(camera)?.latest;
    if (!latest) return undefined;
    return {
      jpeg: await annotate(latest.image, latest.detections, this.opts.config.video.ffmpegPath),
      at: latest.at,
      detections: latest.detections.length,
    };
  }

  /** The latest captures, newest first (one per track). */
  recentCaptures(limit = 50): Capture[] {
    return this.captures.slice(-limit).reverse();
  }

  private async onFrame(frame: Frame): Promise<void> {
    const camera = this.opts.cameras.cameras.get(frame.camera)?.config;
    const detect = camera?.detect;
    const pool = detect ? this.workers() : undefined;
    if (!camera || !detect || !pool) return;
    const p = this.perCamera(camera);
    const { set, highScore } = p;
    const image: RgbImage = { width: frame.width, height: frame.height, data: frame.data };
    let found: Detection[];
    const t0 = performance.now();
    try {
      const result = await pool.detect(frame.camera, image, set);
      found = result.detections;
      this.opts.onTiming?.(result.ms, result.waitMs);
    } catch (err) {
      p.stats.failures++;
      this.opts.counters.inc('vision_failures_total', { camera: frame.camera });
      this.opts.log.warn({ camera: frame.camera, err: (err as Error).message }, 'detectors failed on a frame');
      return;
    }
    const zones = detect.zones as Zone[];
    const { kept, vetoed } = vetoVehicleLamps(
      found.filter((d) => Math.min(d.box.w, d.box.h) >= detect.minSize && admitted(zones, d, image.width, image.height)),
    );
    if (vetoed) this.opts.counters.inc('vision_fire_vetoed_total', { camera: frame.camera }, vetoed);
    // Boxes under the camera's own minScore only continue tracks; they are not counted or drawn.
    const shown = kept.filter((d) => d.score >= (highScore[d.label] ?? 0));
    const counts: Record<string, number> = {};
    for (const d of shown) counts[d.label] = (counts[d.label] ?? 0) + 1;
    p.stats.frames++;
    p.stats.lastAt = frame.at;
    p.stats.lastMs = Math.round(performance.now() - t0);
    p.stats.last = counts;
    this.opts.counters.inc('vision_frames_total', { camera: frame.camera });
    this.opts.sink.writeLine(
      toLine({
        measurement: 'detections',
        tags: { camera: frame.camera, grid: camera.grid },
        fields: { ...counts, detect_ms: p.stats.lastMs },
        ts: frame.at,
      }),
    );
    // Kept by reference, not copied: the camera stage hands over a buffer of its own for every frame.
    p.latest = { image, detections: shown, at: frame.at };
    const events = p.tracker.update(kept, image, frame.at);
    this.handle(frame.camera, p, events, image, frame.at);
    this.behave(camera, p, p.behaviours.update(events, image.width, image.height, frame.at));
  }

  /** The camera's tracking state; its detector set is derived once per camera config, not per frame. */
  private perCamera(camera: GatewayCamera): PerCamera {
    let p = this.per.get(camera.id);
    if (p && p.config !== camera) Object.assign(p, { config: camera, ...trackingSet(detectorSet(camera.detect!)) });
    if (!p) {
      const { set, highScore } = trackingSet(detectorSet(camera.detect!));
      const detectors = Object.keys(set) as DetectorName[];
      const detect = camera.detect as { zones?: Zone[]; lines?: Line[] } | undefined;
      const { trackMissedFrames, sameFaceSeconds } = this.opts.config.vision;
      p = {
        config: camera,
        set,
        highScore,
        tracker: new Tracker(camera.id, {
          maxMissed: trackMissedFrames,
          highScore,
          reacquireMs: { face: sameFaceSeconds * 1000 },
        }),
        behaviours: new Behaviours(detect?.lines ?? [], detect?.zones ?? []),
        stats: { camera: camera.id, detectors, frames: 0, failures: 0, last: {}, tracks: 0, crossings: {} },
        raised: new Set(),
      };
      this.per.set(camera.id, p);
    }
    return p;
  }

  private handle(camera: string, p: PerCamera, events: TrackEvent[], frame: RgbImage | undefined, at: number): void {
    const config = this.opts.cameras.cameras.get(camera)?.config;
    const device: DeviceInfo = {
      id: camera,
      kind: 'camera',
      grid: config?.grid ?? this.opts.config.gateway.grid,
      ...(config?.name ? { name: config.name } : {}),
    };
    for (const e of events) {
      const t = e.track;
      if (e.type === 'end') {
        p.raised.delete(t.id);
        if (CAPTURED[t.label]) this.track(this.capture(device, t));
        continue;
      }
      if (p.raised.has(t.id)) continue;
      const signal = this.rule(device, t, config?.detect?.zones as Zone[] | undefined, frame, at);
      if (signal) {
        p.raised.add(t.id);
        this.raise(device, signal);
      }
    }
  }

  /** The incident a track calls for, if any: a blocked plate, a person where none may be, flames or smoke. */
  private rule(
    device: DeviceInfo,
    t: Track,
    zones: Zone[] = [],
    frame: RgbImage | undefined,
    at: number,
  ): Promise<IncidentSignal | undefined> | undefined {
    const facts = { camera: device.id, track: t.id, score: Math.round(t.maxScore * 1000) / 1000, source: 'on-device detector' };
    if (t.label === 'plate' && t.text) {
      // Every plate rule, as for capture cameras: the blocklist first, else a muck truck out of its hours.
      const verdicts = this.watchlists.verdicts(t.text, at);
      const v = verdicts.find((x) => x.kind === 'blocked') ?? verdicts[0];
      if (!v) return undefined;
      const incident = plateIncident(v, { ...facts, plate: t.text, ...(t.color ? { plateColor: t.color } : {}) });
      if (!this.due(incident.correlationKey, at)) return undefined;
      return this.withEvidence(t, 'plate', { action: 'raise', ...incident, occurredAt: at });
    }
    if (t.label === 'person' && frame) {
      const local = this.clock.format(new Date(at));
      const zone = zonesAt(zones, t, frame.width, frame.height).find(
        (z) => z.mode === 'restricted' && (!z.hours || within(local, z.hours)),
      );
      if (!zone || !this.due(`person.restricted_zone:${device.id}:${zone.name}`, at)) return undefined;
      return this.withEvidence(t, 'person', {
        action: 'raise',
        category: 'person.restricted_zone',
        correlationKey: `person.restricted_zone:${device.id}:${zone.name}`,
        occurredAt: at,
        facts: { ...facts, zone: zone.name, localTime: local, ...(zone.hours ? { hours: zone.hours } : {}) },
      });
    }
    const confirm = (this.opts.cameras.cameras.get(device.id)?.config.detect?.fire as { confirmFrames?: number } | undefined)
      ?.confirmFrames;
    if ((t.label === 'fire' || t.label === 'smoke') && frame && t.hits >= (confirm ?? this.opts.config.vision.fireConfirmFrames)) {
      const category = t.label === 'fire' ? 'fire.video_flame' : 'fire.video_smoke';
      if (!this.due(`${category}:${device.id}`, at)) return undefined;
      const box = { ...roundBox(t.box), label: t.label, score: Math.round(t.maxScore * 1000) / 1000 };
      const scene = encodeJpeg(frame, 4, this.opts.config.video.ffmpegPath);
      return scene.then(
        (bytes): IncidentSignal => ({
          action: 'raise',
          category,
          correlationKey: `${category}:${device.id}`,
          occurredAt: at,
          facts: { ...facts, frames: t.hits },
          evidence: [{ bytes, class: 'scene', mime: 'image/jpeg', boxes: [box] }],
        }),
        (err: unknown) => {
          this.opts.log.warn({ camera: device.id, err: (err as Error).message }, 'could not encode the fire evidence; raising without it');
          return {
            action: 'raise',
            category,
            correlationKey: `${category}:${device.id}`,
            occurredAt: at,
            facts: { ...facts, frames: t.hits },
          };
        },
      );
    }
    return undefined;
  }

  /**
   * Line crossings become counts (series `line_crossing`, one point each, and the camera's
   * totals) and, for a person crossing an alarmed line in its hours, person.line_crossing;
   * loitering and a vehicle standing in a no-parking zone become incidents in the zone's hours.
   */
  private behave(camera: GatewayCamera, p: PerCamera, events: BehaviourEvent[]): void {
    const device: DeviceInfo = { id: camera.id, kind: 'camera', grid: camera.grid, ...(camera.name ? { name: camera.name } : {}) };
    for (const e of events) {
      const local = this.clock.format(new Date(e.at));
      const facts = { camera: camera.id, track: e.track.id, source: 'on-device detector', localTime: local };
      if (e.type === 'crossed') {
        const { line, direction } = e;
        const byClass = p.stats.crossings[line.name] ?? {};
        const n = byClass[e.class] ?? { in: 0, out: 0 };
        n[direction]++;
        byClass[e.class] = n;
        p.stats.crossings[line.name] = byClass;
        this.opts.sink.writeLine(
          toLine({
            measurement: 'line_crossing',
            tags: { camera: camera.id, grid: camera.grid, line: line.name, class: e.class, direction },
            fields: { count: 1, label: e.track.label },
            ts: e.at,
          }),
        );
        const alarmed = line.alarm === 'both' || line.alarm === direction;
        if (e.class !== 'person' || !alarmed || (line.hours && !within(local, line.hours))) continue;
        const key = `person.line_crossing:${camera.id}:${line.name}`;
        if (!this.due(key, e.at)) continue;
        this.raise(
          device,
          this.withEvidence(e.track, 'person', {
            action: 'raise',
            category: 'person.line_crossing',
            correlationKey: key,
            occurredAt: e.at,
            facts: { ...facts, line: line.name, direction, ...(line.hours ? { hours: line.hours } : {}) },
          }),
        );
        continue;
      }
      const { zone } = e;
      if (zone.hours && !within(local, zone.hours)) continue;
      const category = e.type === 'loitering' ? 'person.loitering' : 'vehicle.no_parking';
      const key = `${category}:${camera.id}:${zone.name}`;
      if (!this.due(key, e.at)) continue;
      this.raise(
        device,
        this.withEvidence(e.track, e.type === 'loitering' ? 'person' : 'vehicle', {
          action: 'raise',
          category,
          correlationKey: key,
          occurredAt: e.at,
          facts: {
            ...facts,
            zone: zone.name,
            label: e.track.label,
            seconds: Math.round((e.at - e.since) / 1000),
            since: new Date(e.since).toISOString(),
            ...(zone.hours ? { hours: zone.hours } : {}),
          },
        }),
      );
    }
  }

  /** An incident signal that is still being put together (its evidence encoded), handed on when ready. */
  private raise(device: DeviceInfo, signal: Promise<IncidentSignal | undefined>): void {
    this.track(signal.then((s) => s && this.opts.incidents.handle(s, device)));
  }

  /**
   * Whether an incident key may be raised again: a flame that flickers out and back, or a car
   * that leaves and returns, is one incident with one count a minute, not one per track.
   */
  private due(key: string, at: number): boolean {
    const last = this.lastRaised.get(key);
    if (last !== undefined && at - last < this.opts.config.vision.repeatSeconds * 1000) return false;
    this.lastRaised.set(key, at);
    if (this.lastRaised.size > 10_000) this.lastRaised.delete(this.lastRaised.keys().next().value!);
    return true;
  }

  private async withEvidence(t: Track, cls: EvidenceClass, signal: Extract<IncidentSignal, { action: 'raise' }>): Promise<IncidentSignal> {
    try {
      const bytes = await encodeJpeg(t.best.image, 3, this.opts.config.video.ffmpegPath);
      return {
        ...signal,
        evidence: [
          {
            bytes,
            class: cls,
            mime: 'image/jpeg',
            boxes: [{ ...roundBox(t.best.boxInImage), label: t.label, score: Math.round(t.best.score * 1000) / 1000 }],
          },
        ],
      };
    } catch (err) {
      this.opts.log.warn({ camera: t.camera, err: (err as Error).message }, 'could not encode the best shot; raising without it');
      return signal;
    }
  }

  /**
   * A plate a smart camera read itself (ISAPI ANPR): the same watchlists and muck-truck hours as
   * the gateway's own reads and the capture cameras', a vehicle pass in the series, and the
   * camera's own picture as the evidence.
   */
  plateFromCamera(
    device: DeviceInfo,
    read: { plate: string; color?: string; direction?: 'in' | 'out'; at: number; picture?: Buffer },
  ): void {
    const { plate, at } = read;
    const evidence = read.picture ? [{ bytes: read.picture, class: 'plate' as const, mime: 'image/jpeg', camera: device.id }] : [];
    const base = {
      plate,
      camera: device.id,
      source: 'camera analytics',
      ...(read.color ? { plateColor: read.color } : {}),
      ...(read.direction ? { direction: read.direction } : {}),
    };
    for (const v of this.watchlists.verdicts(plate, at)) {
      const incident = plateIncident(v, base);
      if (!this.due(incident.correlationKey, at)) continue;
      const raised = this.opts.incidents.handle({ action: 'raise', ...incident, occurredAt: at, evidence }, device);
      if (raised) this.track(raised);
    }
    this.opts.sink.writeLine(
      toLine({
        measurement: 'vehicle_pass',
        tags: { class: this.watchlists.isResident(plate) ? 'resident' : 'visitor', camera: device.id, grid: device.grid },
        fields: { plate, source: 'camera', ...(read.direction ? { direction: read.direction } : {}) },
        ts: at,
      }),
    );
  }

  /** One record per track: its best shot stored as evidence, a point in the series store. */
  private async capture(device: DeviceInfo, t: Track): Promise<void> {
    const type = t.text ? plateType(t.text, t.color) : undefined;
    const record: Capture = {
      track: t.id,
      camera: device.id,
      grid: device.grid,
      label: t.label,
      firstAt: t.firstAt,
      lastAt: t.lastAt,
      frames: t.hits,
      score: round3(t.maxScore),
      quality: round3(t.best.quality),
      ...(t.text ? { plate: t.text } : {}),
      ...(t.color ? { color: t.color } : {}),
      ...(type ? { plateType: type } : {}),
    };
    let bytes: Buffer | undefined;
    try {
      bytes = await encodeJpeg(t.best.image, 3, this.opts.config.video.ffmpegPath);
      record.sha256 = (await this.opts.storeEvidence({ bytes, class: CAPTURED[t.label]!, mime: 'image/jpeg' })).sha256;
    } catch (err) {
      this.opts.log.warn({ camera: device.id, track: t.id, err: (err as Error).message }, 'could not store the best shot');
    }
    if (this.opts.onCapture)
      this.track(
        this.opts.onCapture({
          camera: device.id,
          grid: device.grid,
          source: 'detector',
          subject: SUBJECT[CAPTURED[t.label]!] ?? 'vehicle',
          track: `${device.id}:${t.id}`,
          firstAt: t.firstAt,
          lastAt: t.lastAt,
          frames: t.hits,
          score: t.maxScore,
          quality: t.best.quality,
          ...(t.text ? { plate: t.text } : {}),
          ...(t.color ? { color: t.color } : {}),
          ...(bytes ? { crop: { bytes, mime: 'image/jpeg' } } : {}),
          scene: { image: t.best.scene, box: roundBox(t.best.box) },
        }),
      );
    this.captures.push(record);
    if (this.captures.length > 500) this.captures.shift();
    this.opts.counters.inc('vision_captures_total', { label: t.label });
    const kind = VEHICLE_LABELS.has(t.label) ? 'vehicle' : t.label;
    this.opts.sink.writeLine(
      toLine({
        measurement: 'capture',
        tags: { camera: device.id, grid: device.grid, label: t.label, kind },
        fields: {
          track: t.id,
          frames: t.hits,
          seconds: (t.lastAt - t.firstAt) / 1000,
          score: record.score,
          quality: record.quality,
          ...(t.text ? { plate: t.text } : {}),
          ...(t.color ? { plate_color: t.color } : {}),
          ...(type ? { plate_type: type } : {}),
          ...(record.sha256 ? { sha256: record.sha256 } : {}),
        },
        ts: t.lastAt,
      }),
    );
    if (t.label === 'plate' && t.text) {
      this.opts.sink.writeLine(
        toLine({
          measurement: 'vehicle_pass',
          tags: { class: this.watchlists.isResident(t.text) ? 'resident' : 'visitor', camera: device.id, grid: device.grid },
          fields: { plate: t.text, source: 'on-device', ...(record.sha256 ? { sha256: record.sha256 } : {}) },
          ts: t.lastAt,
        }),
      );
    }
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.opts.log.error({ err: (err as Error).message }, 'vision: recording failed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function roundBox(b: { x: number; y: number; w: number; h: number }) {
  return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
}

/**
 * The detectors as run for tracking (ByteTrack): the object detector reports boxes down to half
 * the camera's `minScore` (at least 0.15), and a box under `minScore` may only continue a track
 * (a car half behind a post), never start one, be counted or be drawn.
 */
function trackingSet(set: DetectorSet): { set: DetectorSet; highScore: Record<string, number> } {
  if (!set.object) return { set, highScore: {} };
  const start = (set.object.minScore as number | undefined) ?? OBJECT_MIN_SCORE;
  return {
    set: { ...set, object: { ...set.object, minScore: Math.max(0.15, start / 2) } },
    highScore: Object.fromEntries(COCO_LABELS.map((l) => [l, start])),
  };
}
