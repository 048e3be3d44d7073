/**
 * Runs the cameras of one gateway: connects each over ONVIF (or takes its URLs from config),
 * keeps its frames flowing to the detectors through a small drop-oldest queue, follows its motion
 * and tamper events, and reports its health. One CameraRuntime per camera; they fail alone.
 */
import { EventEmitter } from 'node:events';
import type { CameraSettings } from './config.js';
import type { AnalyticsCapture, AnalyticsStream, CameraDeviceInfo } from './analytics.js';
import { DahuaEventStream } from './dahua.js';
import { ISAPI_SNAPSHOT_PATH, IsapiEventStream } from './isapi.js';
import { HTTP_HOSTS_PATH, httpHostsXml, pushDigest, pushParts } from './isapi-push.js';
import type { DigestAuth, DigestResult } from '../../core/http-digest.js';
import { type FeedOpener, RtspFrameSource, type Frame, type SourceHealth } from './frames.js';
import { cameraRequest, fetchSnapshot, SnapshotFrameSource } from './snapshot.js';
import { OnvifCamera, OnvifError, type CameraEventMessage, type DeviceInformation, type PullPointSubscription } from './onvif.js';
import { maskUrl } from '../../core/secrets.js';

export type { CameraSettings };

export interface CameraLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface CameraHealth {
  id: string;
  grid: string;
  name?: string;
  onvif?: { connected: boolean; info?: DeviceInformation; events: boolean; renewals: number; lastError?: string };
  /** A Hikvision camera's ISAPI event stream, when configured. */
  isapi?: {
    connected: boolean;
    refused: number;
    device?: CameraDeviceInfo;
    deviceError?: string;
    /** The camera pushing to the gateway (isapiPush): pushes taken and refused, and its httpHosts entry. */
    push?: { received: number; refused: number; lastAt?: string; httpHost?: { written: boolean; error?: string } };
  };
  /** A Dahua camera's eventManager stream, when configured. */
  dahua?: { connected: boolean; refused: number; snapshotFailures: number; device?: CameraDeviceInfo; deviceError?: string };
  source: 'rtsp' | 'snapshot' | 'feed' | 'none';
  stream?: SourceHealth;
  /** Frames thrown away because the detectors were behind (oldest first). */
  framesDropped: number;
  /** Frames not handed over because motion gating was on and the camera saw no motion. */
  framesGated: number;
  framesDelivered: number;
  motion: boolean;
  tamper: boolean;
  lastError?: string;
}

/** Who takes the frames (the detectors); may be slow: the queue in front of it drops the oldest. */
export type FrameConsumer = (frame: Frame) => Promise<void> | void;

/** A capture the camera made itself, with the camera it came from. */
export type CameraCapture = AnalyticsCapture & { camera: string; grid: string };

export interface CameraEvent {
  camera: string;
  grid: string;
  kind: 'motion' | 'tamper' | 'video_lost' | 'video_back' | 'intrusion' | 'line_crossing';
  state: boolean;
  at: number;
  detail?: string;
}

const FIRST_RETRY_MS = 2000;

/** The picture a smart camera's own API gives: ISAPI's channel 101, Dahua's snapshot.cgi channel 1. */
function vendorSnapshotUrl(c: CameraSettings): string | undefined {
  if (c.isapi) return `${c.isapi.replace(/\/$/, '')}${ISAPI_SNAPSHOT_PATH}`;
  if (c.dahua) return `${c.dahua.replace(/\/$/, '')}/cgi-bin/snapshot.cgi?channel=1`;
  return undefined;
}

function streamHealth(s: AnalyticsStream): { connected: boolean; device?: CameraDeviceInfo; deviceError?: string } {
  return { connected: s.connected, ...(s.info ? { device: s.info } : {}), ...(s.infoError ? { deviceError: s.infoError } : {}) };
}

export class CameraRuntime<C extends CameraSettings = CameraSettings> {
  private onvif?: OnvifCamera;
  private events?: PullPointSubscription;
  private isapi?: IsapiEventStream;
  private isapiRefused = 0;
  private dahua?: DahuaEventStream;
  private pushDigest?: DigestAuth;
  private pushRefused = 0;
  /** Whether the camera's httpHosts entry names the gateway (isapiPush.gateway), or why not. */
  private httpHost?: { written: boolean; error?: string };
  private httpHostTimer?: NodeJS.Timeout;
  private dahuaRefused = 0;
  private source?: RtspFrameSource | SnapshotFrameSource;
  private sourceKind: CameraHealth['source'] = 'none';
  private readonly queue: Frame[] = [];
  private draining = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = FIRST_RETRY_MS;
  private lastError?: string;
  private motion = false;
  private tamper = false;
  private videoLost = false;
  private lostTimer?: NodeJS.Timeout;
  framesDropped = 0;
  framesGated = 0;
  framesDelivered = 0;
  snapshotUrl?: string;
  /** Its RTSP stream, credentials in (never logged): what a relay to an upper platform copies. */
  streamUrl?: string;
  /** The latest decoded frame: a snapshot for cameras without a snapshot URL. */
  lastFrame?: Frame;

  constructor(
    readonly config: C,
    private readonly opts: {
      ffmpegPath: string;
      log: CameraLog;
      consumers: () => readonly FrameConsumer[];
      emit: (e: CameraEvent) => void;
      /** A capture the camera made itself (ISAPI ANPR, face capture). */
      capture?: (c: CameraCapture) => void;
      /** Video the gateway receives itself (a GB/T 28181 channel): an opener, or null for a channel whose video is not pulled. */
      feed?: (camera: string) => FeedOpener | null | undefined;
      /** Encodes a frame as JPEG (for snapshots of cameras without a snapshot URL). */
      encode?: (frame: Frame) => Promise<Buffer>;
      onvifTimeoutMs?: number;
      pullPoint?: { lifetimeMs?: number; pullTimeoutMs?: number };
    },
  ) {}

  get id(): string {
    return this.config.id;
  }

  start(): void {
    this.stopped = false;
    const account = { user: this.config.user ?? '', password: this.config.password ?? '' };
    if (this.config.isapi) {
      const push = this.config.isapiPush;
      this.isapi = new IsapiEventStream({ url: this.config.isapi, ...account, listen: !push || push.alsoStream });
      this.listenAnalytics(this.isapi, () => this.isapiRefused++);
      if (push?.password) this.pushDigest = pushDigest(this.id, push.password);
      if (push?.gateway && push.password) void this.writeHttpHost(push.gateway, push.password);
    }
    if (this.config.dahua) {
      this.dahua = new DahuaEventStream({ url: this.config.dahua, ...account });
      this.listenAnalytics(this.dahua, () => this.dahuaRefused++);
    }
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.lostTimer);
    this.isapi?.stop();
    this.dahua?.stop();
    clearTimeout(this.httpHostTimer);
    await Promise.allSettled([this.source?.stop(), this.events?.stop()]);
  }

  health(): CameraHealth {
    return {
      id: this.config.id,
      grid: this.config.grid,
      ...(this.config.name ? { name: this.config.name } : {}),
      ...(this.config.onvif
        ? {
            onvif: {
              connected: this.onvif !== undefined,
              ...(this.onvif ? { info: this.onvif.info } : {}),
              events: this.events?.active ?? false,
              renewals: this.events?.renewals ?? 0,
              ...(this.events?.lastError ? { lastError: this.events.lastError } : {}),
            },
          }
        : {}),
      source: this.sourceKind,
      ...(this.source ? { stream: this.source.health() } : {}),
      framesDropped: this.framesDropped,
      framesGated: this.framesGated,
      framesDelivered: this.framesDelivered,
      ...(this.isapi
        ? {
            isapi: {
              ...streamHealth(this.isapi),
              refused: this.isapiRefused,
              ...(this.pushDigest
                ? {
                    push: {
                      received: this.isapi.pushes,
                      refused: this.pushRefused,
                      ...(this.isapi.lastPushAt ? { lastAt: new Date(this.isapi.lastPushAt).toISOString() } : {}),
                      ...(this.httpHost ? { httpHost: this.httpHost } : {}),
                    },
                  }
                : {}),
            },
          }
        : {}),
      ...(this.dahua
        ? { dahua: { ...streamHealth(this.dahua), refused: this.dahuaRefused, snapshotFailures: this.dahua.snapshotFailures } }
        : {}),
      motion: this.motion,
      tamper: this.tamper,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /**
   * A fresh picture from the camera (for evidence): its snapshot URL, else (none, or it failed)
   * its latest decoded frame of the last 10 s.
   */
  async snapshot(): Promise<Buffer> {
    let failed: string | undefined;
    if (this.snapshotUrl) {
      try {
        return await fetchSnapshot(this.snapshotUrl, this.config.user, this.config.password);
      } catch (err) {
        failed = (err as Error).message;
      }
    }
    const frame = this.lastFrame;
    if (frame && this.opts.encode && Date.now() - frame.at < 10_000) return this.opts.encode(frame);
    throw new Error(
      failed
        ? `camera ${this.id}: its snapshot failed (${failed}) and it has no recent frame`
        : `camera ${this.id} has no snapshot URL and no recent frame`,
    );
  }

  /** Whether `snapshot` can give a picture now. */
  get canSnapshot(): boolean {
    return (
      this.snapshotUrl !== undefined ||
      (this.lastFrame !== undefined && this.opts.encode !== undefined && Date.now() - this.lastFrame.at < 10_000)
    );
  }

  /** The ffmpeg process of the stream, when there is one (benchmarks read its CPU time). */
  get decoderPid(): number | undefined {
    return this.source instanceof RtspFrameSource ? this.source.pid : undefined;
  }

  private async connect(): Promise<void> {
    const c = this.config;
    const feed = this.opts.feed?.(c.id);
    if (feed === null) return; // known, but nobody asked for its video
    if (feed) {
      this.useSource(new RtspFrameSource(feed, this.frameOptions()), 'feed');
      return;
    }
    let stream = c.rtsp;
    let snapshot = c.snapshot;
    if (c.onvif) {
      try {
        this.onvif = await OnvifCamera.connect(
          { xaddr: c.onvif, user: c.user ?? '', password: c.password ?? '' },
          this.opts.onvifTimeoutMs,
        );
      } catch (err) {
        if (this.stopped) return;
        this.lastError = (err as Error).message;
        const delay = this.retryMs;
        // Wrong credentials will not fix themselves quickly: back off further, and say so.
        this.retryMs = Math.min(this.retryMs * 2, err instanceof OnvifError && err.reason === 'unauthorized' ? 300_000 : 60_000);
        this.opts.log.warn({ camera: c.id, err: this.lastError, retryInMs: delay }, 'camera: ONVIF connect failed');
        this.retryTimer = setTimeout(() => void this.connect(), delay);
        return;
      }
      if (this.stopped) return;
      this.retryMs = FIRST_RETRY_MS;
      this.lastError = undefined;
      const profile = this.onvif.profiles[0];
      stream ??= profile?.streamUri;
      snapshot ??= profile?.snapshotUri;
      this.opts.log.info(
        { camera: c.id, model: this.onvif.info.model, profiles: this.onvif.profiles.length, stream: stream ? maskUrl(stream) : undefined },
        'camera: connected over ONVIF',
      );
      if (this.onvif.eventsXaddr) this.subscribe(this.onvif);
    }
    // A smart camera's own snapshot when nothing else gives one: for pictures, not as a frame source.
    this.snapshotUrl = snapshot ?? vendorSnapshotUrl(c);
    this.streamUrl = stream ? withCredentials(stream, c.user, c.password) : undefined;
    const useSnapshot = c.source === 'snapshot' || (c.source === 'auto' && !stream);
    const frameOpts = this.frameOptions();
    try {
      if (useSnapshot && snapshot) {
        this.useSource(new SnapshotFrameSource(snapshot, { ...frameOpts, user: c.user, password: c.password }), 'snapshot');
      } else if (stream) {
        this.useSource(new RtspFrameSource(withCredentials(stream, c.user, c.password), frameOpts), 'rtsp');
      } else {
        this.lastError = 'the camera offers no stream and no snapshot';
        this.opts.log.warn({ camera: c.id }, 'camera: no frame source');
      }
    } catch (err) {
      this.lastError = (err as Error).message;
      this.opts.log.warn({ camera: c.id, err: this.lastError }, 'camera: cannot read frames');
    }
  }

  private frameOptions() {
    const c = this.config;
    return { camera: c.id, width: c.width, height: c.height, fps: c.fps, stallMs: c.stallSeconds * 1000, ffmpegPath: this.opts.ffmpegPath };
  }

  private useSource(source: RtspFrameSource | SnapshotFrameSource, kind: CameraHealth['source']): void {
    const c = this.config;
    this.source = source;
    this.sourceKind = kind;
    this.source.on('frame', (f: Frame) => this.onFrame(f));
    this.source.on('retry', (r: { error: string; delayMs: number }) => {
      this.opts.log.warn({ camera: c.id, err: r.error, retryInMs: r.delayMs }, 'camera: stream lost, reconnecting');
      this.armVideoLost(r.error);
    });
    this.source.on('stall', (s: { sinceMs: number }) =>
      this.opts.log.warn({ camera: c.id, sinceMs: s.sinceMs }, 'camera: stream stalled, restarting'),
    );
    this.source.start();
  }

  /**
   * Who is pushing to /isapi/{camera}/events: the camera, by Digest, before its body is read.
   * Undefined for a camera that does not push (the route answers 404).
   */
  authenticatePush(method: string, url: string, authorization: string | undefined): DigestResult | undefined {
    if (!this.pushDigest) return undefined;
    const r = this.pushDigest.verify(method, url, authorization);
    if (!r.ok && authorization) {
      this.pushRefused++;
      this.opts.log.warn({ camera: this.id, why: r.reason }, 'camera: ISAPI push refused');
    }
    return r;
  }

  /** One push the camera made (authenticated): its alert (and pictures) as if read from its stream. */
  receivePush(contentType: string | undefined, body: Buffer): { ok: true } | { ok: false; why: string } {
    const parts = pushParts(contentType, body);
    if (typeof parts === 'string' || !this.isapi) {
      this.pushRefused++;
      const why = typeof parts === 'string' ? parts : 'the camera has no isapi address';
      this.opts.log.warn({ camera: this.id, why }, 'camera: ISAPI push refused');
      return { ok: false, why };
    }
    this.isapi.receive(parts);
    return { ok: true };
  }

  /** Writes the camera's httpHosts entry (host 1: the gateway), again with backoff until the camera takes it. */
  private async writeHttpHost(gateway: string, password: string, delayMs = 30_000): Promise<void> {
    const url = `${this.config.isapi!.replace(/\/$/, '')}${HTTP_HOSTS_PATH}`;
    try {
      await cameraRequest(url, {
        method: 'PUT',
        body: httpHostsXml({ gateway, camera: this.id, password }),
        user: this.config.user ?? '',
        password: this.config.password ?? '',
        what: 'ISAPI httpHosts',
      });
      this.httpHost = { written: true };
      this.opts.log.info({ camera: this.id, gateway }, 'camera: httpHosts entry written, the camera pushes its events to the gateway');
    } catch (err) {
      if (this.stopped) return;
      this.httpHost = { written: false, error: (err as Error).message };
      this.opts.log.warn({ camera: this.id, err: (err as Error).message, retryInMs: delayMs }, 'camera: cannot write its httpHosts entry');
      this.httpHostTimer = setTimeout(() => void this.writeHttpHost(gateway, password, Math.min(delayMs * 2, 600_000)), delayMs);
    }
  }

  /**
   * A smart camera's own analytics (Hikvision ISAPI, Dahua eventManager): motion and tamper as
   * from ONVIF, intrusion and line crossing besides, and its own captures.
   */
  private listenAnalytics(stream: AnalyticsStream, refused: () => void): void {
    const { label } = stream;
    stream.on('event', (e) => {
      if (e.kind === 'motion') this.motion = e.state;
      if (e.kind === 'tamper') this.tamper = e.state;
      const detail = `${label} ${e.eventType}${e.channel !== 1 ? ` on channel ${e.channel}` : ''}`;
      this.opts.emit({ camera: this.id, grid: this.config.grid, kind: e.kind, state: e.state, at: e.at, detail });
    });
    stream.on('capture', (c) => this.opts.capture?.({ ...c, camera: this.id, grid: this.config.grid }));
    stream.on('connected', () => this.opts.log.info({ camera: this.id }, `camera: ${label} event stream open`));
    stream.on('error', (err, retryMs) =>
      this.opts.log.warn({ camera: this.id, err: err.message, retryInMs: retryMs }, `camera: ${label} event stream lost`),
    );
    stream.on('refused', (why) => {
      refused();
      this.opts.log.warn({ camera: this.id, why }, `camera: ${label} part refused`);
    });
    stream.start();
  }

  private subscribe(camera: OnvifCamera): void {
    const sub = camera.pullPoint(this.opts.pullPoint);
    this.events = sub;
    sub.on('event', (e: CameraEventMessage) => {
      if (e.kind === 'other') return;
      if (e.kind === 'motion') this.motion = e.state;
      if (e.kind === 'tamper') this.tamper = e.state;
      this.opts.emit({ camera: this.id, grid: this.config.grid, kind: e.kind, state: e.state, at: e.at.getTime() });
    });
    sub.on('error', (err: Error) =>
      this.opts.log.warn({ camera: this.id, err: err.message }, 'camera: event subscription failed, subscribing again'),
    );
    sub.start();
  }

  /** Video counts as lost once the stream has failed for as long as a stall takes to notice. */
  private armVideoLost(reason: string): void {
    if (this.videoLost || this.lostTimer) return;
    this.lostTimer = setTimeout(() => {
      this.lostTimer = undefined;
      if (this.stopped || this.source?.health().state === 'streaming') return;
      this.videoLost = true;
      this.opts.emit({ camera: this.id, grid: this.config.grid, kind: 'video_lost', state: true, at: Date.now(), detail: reason });
    }, this.config.stallSeconds * 1000);
  }

  private onFrame(frame: Frame): void {
    this.lastFrame = frame;
    if (this.videoLost) {
      this.videoLost = false;
      this.opts.emit({ camera: this.id, grid: this.config.grid, kind: 'video_back', state: false, at: frame.at });
    }
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    if (this.config.motionGate && !this.motion) {
      this.framesGated++;
      return;
    }
    if (!this.opts.consumers().length) return;
    this.queue.push(frame);
    while (this.queue.length > this.config.queueFrames) {
      this.queue.shift();
      this.framesDropped++;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let frame = this.queue.shift(); frame; frame = this.queue.shift()) {
        for (const consume of this.opts.consumers()) {
          try {
            await consume(frame);
          } catch (err) {
            this.opts.log.warn({ camera: this.id, err: (err as Error).message }, 'camera: a frame consumer failed');
          }
        }
        this.framesDelivered++;
      }
    } finally {
      this.draining = false;
    }
  }
}

/** Puts the camera's credentials into an RTSP URL that has none (most cameras want them there). */
export function withCredentials(url: string, user?: string, password?: string): string {
  if (!user) return url;
  const u = new URL(url);
  if (u.username) return url;
  u.username = user;
  u.password = password ?? '';
  return u.toString();
}

type ManagerOptions = {
  ffmpegPath: string;
  log: CameraLog;
  feed?: (camera: string) => FeedOpener | null | undefined;
  encode?: (frame: Frame) => Promise<Buffer>;
  onvifTimeoutMs?: number;
  pullPoint?: { lifetimeMs?: number; pullTimeoutMs?: number };
};

/** Settings for a video source that is not in the config (a drone's live video). */
export function streamCamera(id: string, grid: string, rtsp: string, name?: string): CameraSettings {
  return {
    id,
    grid,
    ...(name ? { name } : {}),
    rtsp,
    source: 'rtsp',
    fps: 2,
    width: 640,
    height: 360,
    stallSeconds: 10,
    motionGate: false,
    queueFrames: 2,
  };
}

export class CameraManager<C extends CameraSettings = CameraSettings> extends EventEmitter {
  readonly cameras = new Map<string, CameraRuntime<C>>();
  private readonly consumers: FrameConsumer[] = [];
  private started = false;

  constructor(
    configs: readonly C[],
    private readonly opts: ManagerOptions,
  ) {
    super();
    for (const c of configs) this.cameras.set(c.id, this.runtime(c));
  }

  private runtime(c: C): CameraRuntime<C> {
    return new CameraRuntime(c, {
      ...this.opts,
      consumers: () => this.consumers,
      emit: (e) => this.emit('event', e),
      capture: (cap) => this.emit('capture', cap),
    });
  }

  /** Adds a camera, or replaces one whose stream changed (a drone announcing a new URL). */
  async upsert(c: C): Promise<void> {
    const known = this.cameras.get(c.id);
    if (known && known.config.rtsp === c.rtsp && known.config.onvif === c.onvif && known.config.snapshot === c.snapshot) return;
    const runtime = this.runtime(c);
    this.cameras.set(c.id, runtime);
    await known?.stop();
    if (this.started) runtime.start();
  }

  /**
   * Stops and forgets a camera (a channel gone from its NVR's catalog, a dock's task over).
   * `removed` is said while its config is still known, so those tracking it can finish.
   */
  async remove(id: string): Promise<void> {
    const known = this.cameras.get(id);
    if (known) this.emit('removed', id);
    this.cameras.delete(id);
    await known?.stop();
  }

  /** Hands every camera's frames to `consumer` from now on. */
  addConsumer(consumer: FrameConsumer): () => void {
    this.consumers.push(consumer);
    return () => {
      const i = this.consumers.indexOf(consumer);
      if (i >= 0) this.consumers.splice(i, 1);
    };
  }

  start(): void {
    this.started = true;
    for (const c of this.cameras.values()) c.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.allSettled([...this.cameras.values()].map((c) => c.stop()));
  }

  health(): CameraHealth[] {
    return [...this.cameras.values()].map((c) => c.health());
  }

  /**
   * Snapshots from the cameras named, or without names from every camera of a grid cell, that
   * answer; failures are left out, not fatal.
   */
  async snapshotsOf(grid: string, only?: readonly string[]): Promise<Array<{ camera: string; jpeg: Buffer }>> {
    const chosen = [...this.cameras.values()].filter((c) => (only ? only.includes(c.id) : c.config.grid === grid) && c.canSnapshot);
    const results = await Promise.allSettled(chosen.map(async (c) => ({ camera: c.id, jpeg: await c.snapshot() })));
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }
}
