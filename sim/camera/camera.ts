/**
 * One simulated ONVIF camera: SOAP services, WS-Discovery, an HTTP snapshot and a real RTSP
 * stream, all showing the same scripted scene. Motion and tamper events follow the scene.
 */
import { existsSync } from 'node:fs';
import { endpointUrn } from '../../devices/camera/ws-discovery.js';
import { DiscoveryResponder } from './discovery-responder.js';
import { identityFor, OnvifService, scopes, type CameraEvent } from './onvif-service.js';
import { RtspStream } from './rtsp.js';
import { BUILTIN_SCENES, renderScenes, type RenderedScene, type SceneSpec, type TimelineStep } from './scenes.js';

export interface SimCameraOptions {
  id: string;
  host?: string;
  /** 0 (the default) picks free ports. */
  onvifPort?: number;
  rtspPort?: number;
  /** The WS-Discovery port to answer on; undefined: no responder. */
  discoveryPort?: number;
  /** Join the WS-Discovery multicast group too (a real interface, not loopback). */
  multicast?: boolean;
  user?: string;
  password?: string;
  width?: number;
  height?: number;
  fps?: number;
  codec?: 'h264' | 'mjpeg';
  /** Extra scenes, added to (or replacing) the built-in ones. */
  scenes?: Record<string, SceneSpec>;
  initialScene?: string;
  /** Scenes in turn, looping; without one the camera shows `initialScene` until told otherwise. */
  timeline?: TimelineStep[];
  /** Reported as the ONVIF location scope (the grid cell the camera is in). */
  location?: string;
  ffmpegPath?: string;
}

export class SimulatedCamera {
  readonly id: string;
  private readonly opts: Required<Omit<SimCameraOptions, 'discoveryPort' | 'timeline' | 'scenes'>> &
    Pick<SimCameraOptions, 'discoveryPort' | 'timeline' | 'scenes'>;
  private rendered = new Map<string, RenderedScene>();
  private current?: RenderedScene;
  private onvif?: OnvifService;
  private rtsp?: RtspStream;
  private discovery?: DiscoveryResponder;
  private timelineTimer?: NodeJS.Timeout;
  /** Every event the camera raised, in order (for tests and reports). */
  readonly events: CameraEvent[] = [];

  constructor(options: SimCameraOptions) {
    this.id = options.id;
    this.opts = {
      host: '127.0.0.1',
      onvifPort: 0,
      rtspPort: 0,
      multicast: false,
      user: 'admin',
      password: 'admin',
      width: 640,
      height: 360,
      fps: 10,
      codec: 'h264',
      initialScene: 'street',
      location: '',
      ffmpegPath: 'ffmpeg',
      ...options,
    };
    if (!Number.isInteger(this.opts.fps) || this.opts.fps < 1 || this.opts.fps > 60)
      throw new Error(`camera ${this.id}: fps must be 1..60`);
    if (this.opts.width % 2 || this.opts.height % 2 || this.opts.width < 64 || this.opts.height < 64)
      throw new Error(`camera ${this.id}: width and height must be even and at least 64`);
  }

  get xaddr(): string {
    return `${this.onvif!.base}/onvif/device_service`;
  }
  get rtspUrl(): string {
    return this.rtsp!.url;
  }
  get snapshotUrl(): string {
    return `${this.onvif!.base}/snapshot.jpg`;
  }
  /** The camera account's password (the simulator is the camera: it knows it). */
  get password(): string {
    return this.opts.password;
  }
  get discoveryPort(): number | undefined {
    return this.discovery?.port;
  }
  get scene(): string | undefined {
    return this.current?.name;
  }
  get refusedRequests(): number {
    return this.onvif?.refused ?? 0;
  }

  async start(): Promise<void> {
    const { opts } = this;
    try {
      this.rendered = await renderScenes(this.sceneSet(), opts.width, opts.height, opts.ffmpegPath);
      const first = this.rendered.get(opts.initialScene);
      if (!first) throw new Error(`camera ${this.id}: no scene "${opts.initialScene}" (have: ${[...this.rendered.keys()].join(', ')})`);
      for (const step of opts.timeline ?? [])
        if (!this.rendered.has(step.scene)) throw new Error(`camera ${this.id}: timeline names unknown scene "${step.scene}"`);
      this.current = first;
      this.rtsp = new RtspStream({
        host: opts.host,
        port: opts.rtspPort,
        path: '/stream',
        fps: opts.fps,
        codec: opts.codec,
        firstScene: first.files,
      });
      await this.rtsp.start();
      this.onvif = new OnvifService({
        host: opts.host,
        port: opts.onvifPort,
        identity: identityFor(this.id, opts.location),
        users: new Map([[opts.user, opts.password]]),
        stream: () => ({
          rtspUrl: this.rtsp!.url,
          width: opts.width,
          height: opts.height,
          fps: opts.fps,
          encoding: opts.codec === 'mjpeg' ? 'JPEG' : 'H264',
        }),
        snapshot: () => this.currentPicture(),
      });
      await this.onvif.start();
      this.raise('tns1:VideoSource/MotionAlarm', first.spec.motion ?? false, true);
      this.raise('tns1:VideoSource/GlobalSceneChange/ImagingService', first.spec.tamper ?? false, true);
      if (opts.discoveryPort !== undefined) {
        this.discovery = new DiscoveryResponder({
          host: opts.multicast ? '0.0.0.0' : opts.host,
          port: opts.discoveryPort,
          urn: endpointUrn(this.id),
          xaddrs: () => [this.xaddr],
          scopes: scopes(identityFor(this.id, opts.location)),
          multicast: opts.multicast,
        });
        await this.discovery.start();
      }
      if (opts.timeline?.length) this.runTimeline(0);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Shows a scene now: the stream, the snapshot and the events change together. */
  show(name: string): void {
    const scene = this.rendered.get(name);
    if (!scene) throw new Error(`camera ${this.id}: no scene "${name}"`);
    const before = this.current?.spec;
    this.current = scene;
    this.rtsp?.show(scene.files);
    if ((before?.motion ?? false) !== (scene.spec.motion ?? false)) this.raise('tns1:VideoSource/MotionAlarm', scene.spec.motion ?? false);
    if ((before?.tamper ?? false) !== (scene.spec.tamper ?? false))
      this.raise('tns1:VideoSource/GlobalSceneChange/ImagingService', scene.spec.tamper ?? false);
  }

  /** The picture the stream shows now (effects loop at the stream's rate). */
  currentPicture(): Buffer {
    const { jpegs } = this.current!;
    return jpegs[Math.floor(Date.now() / (1000 / this.opts.fps)) % jpegs.length]!;
  }

  stall(): void {
    this.rtsp?.stall();
  }
  resume(): void {
    this.rtsp?.resume();
  }
  /** The stream's server dies (power cut on the encoder); ONVIF stays up. */
  async killStream(): Promise<void> {
    await this.rtsp?.kill();
  }
  async restartStream(): Promise<void> {
    if (this.rtsp && !this.rtsp.running) await this.rtsp.start();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timelineTimer);
    await Promise.allSettled([this.discovery?.stop(), this.onvif?.stop(), this.rtsp?.stop()]);
  }

  /**
   * The scenes this camera may show: its own, and the built-in ones whose pictures are on this
   * machine (a missing photo package only matters to a camera that asks for its scene).
   */
  private sceneSet(): Record<string, SceneSpec> {
    const wanted = new Set([this.opts.initialScene, ...(this.opts.timeline ?? []).map((s) => s.scene)]);
    const builtins = Object.entries(BUILTIN_SCENES).filter(([name, spec]) => wanted.has(name) || !spec.image || existsSync(spec.image));
    return { ...Object.fromEntries(builtins), ...this.opts.scenes };
  }

  private runTimeline(i: number): void {
    const steps = this.opts.timeline!;
    const step = steps[i % steps.length]!;
    this.show(step.scene);
    this.timelineTimer = setTimeout(() => this.runTimeline(i + 1), step.seconds * 1000);
  }

  private raise(topic: CameraEvent['topic'], state: boolean, initial = false): void {
    const event = { topic, state, at: new Date() };
    if (!initial) this.events.push(event);
    this.onvif?.emit(event);
  }
}
