/**
 * GB/T 28181 in the gateway: the SIP service (devices/gb28181) composed with the camera stage,
 * the heartbeats and the incidents. A registered device is watched like any device (three
 * missed keepalives: device.offline); each video channel of its catalog becomes a camera (its
 * name, grid cell and detectors from the config); channels with detectors, or `live: true`,
 * have their video pulled into the same frame pipeline as RTSP cameras; a channel the catalog
 * says is off raises camera.video_lost; alarms become incidents, with a snapshot when the
 * channel is streaming.
 */
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import { cameraEventOutput } from '../devices/camera/events.js';
import type { FeedOpener } from '../devices/camera/frames.js';
import type { CameraManager } from '../devices/camera/manager.js';
import type { IncidentMessage, Severity } from '../contracts/incident.js';
import { alarmMeaning, alarmOfCategory, type GbAlarm } from '../devices/gb28181/alarm.js';
import { Cascade, type CascadeChannel } from '../devices/gb28181/cascade.js';
import { gbChannelSource, rtspSource } from '../devices/gb28181/relay.js';
import type { CatalogItem } from '../devices/gb28181/catalog.js';
import { LiveVideo } from '../devices/gb28181/live.js';
import { PortPool } from '../devices/gb28181/media/receiver.js';
import { Gb28181Service } from '../devices/gb28181/service.js';
import type { DeviceInfo, EvidenceInput, FieldValue, IncidentSignal } from '../devices/types.js';
import type { GatewayCamera, GatewayGb28181, GbChannelConfig } from './config/schema.js';
import type { HeartbeatMonitor } from './heartbeats.js';
import type { IncidentManager } from './incidents/manager.js';
import { CameraGbIds } from './gb28181-ids.js';
import type { Service } from './services.js';
import { type SeriesSink, toLine } from './timeseries/sink.js';

export interface GbDeps {
  cameras: CameraManager<GatewayCamera>;
  /** The gateway's name and version, for DeviceInfo upward. */
  identity: { name: string; version: string };
  /** The config's cameras: the gbIds they are given. */
  cameraConfigs: readonly GatewayCamera[];
  dataDir: string;
  ffmpegPath: string;
  /** In an HA pair: whether this node leads (the cascade runs there only). */
  leading?: () => boolean;
  heartbeats: HeartbeatMonitor;
  incidents: IncidentManager;
  sink: SeriesSink;
  counters: Counters;
  log: Logger;
}

export class GbVideo implements Service {
  readonly name = 'gb28181';
  readonly service: Gb28181Service;
  readonly live: LiveVideo;
  /** Channel id → the device that has it, for every video channel of a catalog. */
  private readonly channels = new Map<string, { device: string; item: CatalogItem; config?: GbChannelConfig }>();
  private readonly watching = new Set<string>();
  readonly cascade?: Cascade;
  private readonly ids: CameraGbIds;
  private cascadeTimer?: NodeJS.Timeout;
  private cascadeRunning = false;
  private idsLoaded = false;

  constructor(
    readonly settings: GatewayGb28181,
    private readonly deps: GbDeps,
  ) {
    this.service = new Gb28181Service(settings, { counters: deps.counters, log: deps.log });
    this.live = new LiveVideo(this.service, {
      pool: new PortPool(settings.media.portMin, settings.media.portMax),
      bindHost: settings.host,
      maxStreams: settings.limits.maxStreams,
      counters: deps.counters,
      log: deps.log,
    });
    for (const d of settings.devices) this.watch(d.id);
    this.service.on('seen', (id, at) => deps.heartbeats.seen(this.deviceInfo(id), at));
    this.service.on('registered', (id) => this.watch(id));
    this.service.on('catalog', (id, items) => this.onCatalog(id, items));
    this.service.on('alarm', (alarm, id) =>
      this.onAlarm(alarm, id).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'gb28181: alarm not handled')),
    );
    const fixed = new Map(deps.cameraConfigs.flatMap((c) => (c.gbId ? [[c.id, c.gbId] as const] : [])));
    this.ids = new CameraGbIds(CameraGbIds.fileIn(deps.dataDir), settings.sipId, fixed, (why) => deps.log.warn({}, `gb28181: ${why}`));
    const upward = settings.cascade.flatMap((c) => (c.password ? [{ ...c, password: c.password }] : []));
    if (upward.length)
      this.cascade = new Cascade(upward, {
        gb: this.service,
        channels: () => this.upwardChannels(),
        deviceInfo: () => [
          ['DeviceName', deps.identity.name],
          ['Manufacturer', 'gridedge'],
          ['Model', 'gridedge gateway'],
          ['Firmware', deps.identity.version],
        ],
        limits: settings.limits,
        bindHost: settings.host,
        counters: deps.counters,
        log: deps.log,
      });
  }

  /**
   * What the gateway offers upward: every camera, a GB/T 28181 channel under its own id (its
   * video relayed from the device below), any other under its gbId (its RTSP stream copied).
   */
  upwardChannels(): CascadeChannel[] {
    // Before the kept ids are read, a new one could take an id a camera already has upward.
    if (!this.idsLoaded) return [];
    const civilCode = this.settings.grid.slice(0, 6);
    const out: CascadeChannel[] = [];
    for (const cam of this.deps.cameras.cameras.values()) {
      const ch = this.channels.get(cam.id);
      const name = cam.config.name ?? cam.id;
      if (ch) {
        out.push({
          id: cam.id,
          name,
          online: ch.item.online,
          civilCode,
          ...(ch.item.manufacturer ? { manufacturer: ch.item.manufacturer } : {}),
          ...(ch.item.model ? { model: ch.item.model } : {}),
          source: gbChannelSource(this.live, cam.id),
        });
        continue;
      }
      const url = cam.streamUrl;
      out.push({
        id: this.ids.idOf(cam.id),
        name,
        online: url !== undefined,
        civilCode,
        model: cam.config.onvif ? 'ONVIF camera' : 'RTSP camera',
        ...(url ? { source: rtspSource(url, `camera ${cam.id}`, this.deps.ffmpegPath, ffprobeNextTo(this.deps.ffmpegPath)) } : {}),
      });
    }
    return out;
  }

  /** A camera incident, sent up as an Alarm (§9.4) to the platforms that take them. */
  forward(m: IncidentMessage): void {
    if (!this.cascade || !this.idsLoaded || m.type !== 'new') return;
    const device = m.devices[0];
    if (!device || !this.deps.cameras.cameras.has(device.id)) return;
    const id = this.channels.has(device.id) ? device.id : this.ids.idOf(device.id);
    const kind = alarmOfCategory(m.category) ?? { method: 5 };
    const alarm: GbAlarm = {
      deviceId: id,
      priority: PRIORITY[m.severity],
      method: kind.method,
      ...(kind.type !== undefined ? { type: kind.type } : {}),
      at: Date.parse(m.occurredAt),
      description: `${m.category} ${device.name ?? device.id}`.slice(0, 200),
      ...(m.location ? { latitude: m.location.lat, longitude: m.location.lon } : {}),
    };
    void this.cascade.alarm(alarm);
  }

  async start(): Promise<void> {
    const port = await this.service.start();
    this.deps.log.info(
      {
        sipId: this.settings.sipId,
        domain: this.settings.domain,
        port,
        transports: this.settings.transports,
        publicHost: this.settings.publicHost,
      },
      'gb28181: listening',
    );
    if (this.cascade) {
      await this.ids.load();
      this.idsLoaded = true;
      await this.syncCascade();
      // In an HA pair only the leader is registered upward: two registrations of one id would flap.
      this.cascadeTimer = setInterval(
        () =>
          this.syncCascade().catch((err: unknown) =>
            this.deps.log.warn({ err: (err as Error).message }, 'gb28181: cascade could not follow the leadership'),
          ),
        5000,
      );
    }
  }

  private async syncCascade(): Promise<void> {
    const want = this.deps.leading?.() ?? true;
    if (!this.cascade || want === this.cascadeRunning) return;
    this.cascadeRunning = want; // before the await: the next tick must not start it twice
    try {
      if (want) await this.cascade.start();
      else await this.cascade.stop();
    } catch (err) {
      this.cascadeRunning = !want; // not changed: tried again on the next tick
      throw err;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.cascadeTimer);
    if (this.cascadeRunning) await this.cascade?.stop();
    this.cascadeRunning = false;
    await this.ids.flush();
    await this.live.stop();
    await this.service.stop();
  }

  /**
   * The camera stage's source for a camera: a feed for a channel whose video is wanted, null for
   * a channel that is only known (no stream pulled), undefined for cameras that are not channels.
   */
  feed(cameraId: string): FeedOpener | null | undefined {
    const ch = this.channels.get(cameraId);
    if (!ch) return undefined;
    const wanted = ch.config?.live ?? ch.config?.detect !== undefined;
    return wanted ? this.live.feed(cameraId) : null;
  }

  private deviceInfo(id: string): DeviceInfo {
    const d = this.settings.devices.find((x) => x.id === id);
    return { id, kind: 'gb28181', grid: d?.grid ?? this.settings.grid, ...(d?.name ? { name: d.name } : {}) };
  }

  private watch(id: string): void {
    if (this.watching.has(id)) return;
    this.watching.add(id);
    const d = this.settings.devices.find((x) => x.id === id);
    this.deps.heartbeats.add({ info: this.deviceInfo(id), heartbeatSeconds: d?.keepaliveSeconds ?? this.settings.keepaliveSeconds });
  }

  private channelConfig(device: string, channel: string): GbChannelConfig | undefined {
    return this.settings.devices.find((d) => d.id === device)?.channels.find((c) => c.id === channel);
  }

  private onCatalog(device: string, items: CatalogItem[]): void {
    const video = items.filter((i) => i.video);
    const present = new Set(video.map((i) => i.id));
    for (const [id, ch] of this.channels) {
      if (ch.device === device && !present.has(id)) {
        this.channels.delete(id);
        void this.deps.cameras.remove(id);
      }
    }
    const deviceGrid = this.deviceInfo(device).grid;
    for (const item of video) {
      const config = this.channelConfig(device, item.id);
      const known = this.channels.get(item.id);
      this.channels.set(item.id, { device, item, ...(config ? { config } : {}) });
      void this.deps.cameras.upsert({
        id: item.id,
        grid: config?.grid ?? deviceGrid,
        name: config?.name ?? item.name,
        source: 'auto',
        fps: config?.fps ?? 2,
        width: config?.width ?? 640,
        height: config?.height ?? 360,
        stallSeconds: config?.stallSeconds ?? 10,
        motionGate: false,
        queueFrames: 2,
        ...(config?.detect ? { detect: config.detect } : {}),
      });
      if (!known || known.item.online !== item.online) this.channelStatus(item, config?.grid ?? deviceGrid, known === undefined);
    }
  }

  /** A channel the catalog says is off (OFF, VLOST, DEFECT) has lost its video; back ON, it has it again. */
  private channelStatus(item: CatalogItem, grid: string, first: boolean): void {
    if (first && item.online) return;
    const out = cameraEventOutput(
      {
        camera: item.id,
        grid,
        kind: item.online ? 'video_back' : 'video_lost',
        state: !item.online,
        at: Date.now(),
        detail: `the device's catalog says ${item.status}`,
      },
      item.name,
    );
    this.deps.sink.writeLine(toLine(out.point));
    if (out.signal) this.deps.incidents.submit(out.signal, out.device);
  }

  private async onAlarm(alarm: GbAlarm, from: string): Promise<void> {
    const { cameras, incidents, sink, counters, log } = this.deps;
    const ch = this.channels.get(alarm.deviceId);
    const meaning = alarmMeaning(alarm);
    counters.inc('gb28181_alarms_total', { method: String(alarm.method) });
    const grid = ch ? (ch.config?.grid ?? this.deviceInfo(ch.device).grid) : this.deviceInfo(from).grid;
    const name = ch ? (ch.config?.name ?? ch.item.name) : this.deviceInfo(from).name;
    if (!meaning.category) {
      // Motion: a reading of the camera, not an incident (as ONVIF motion is).
      const out = cameraEventOutput({ camera: alarm.deviceId, grid, kind: 'motion', state: true, at: alarm.at }, name);
      sink.writeLine(toLine(out.point));
      return;
    }
    const device: DeviceInfo = {
      id: alarm.deviceId,
      kind: ch ? 'camera' : 'gb28181',
      grid,
      ...(name ? { name } : {}),
      ...(alarm.latitude !== undefined && alarm.longitude !== undefined ? { location: { lat: alarm.latitude, lon: alarm.longitude } } : {}),
    };
    const facts: Record<string, FieldValue> = {
      alarm: meaning.name,
      alarmMethod: alarm.method,
      alarmPriority: alarm.priority,
      source: 'gb28181',
      reportedBy: from,
    };
    if (alarm.type !== undefined) facts.alarmType = alarm.type;
    if (alarm.eventType !== undefined) facts.eventType = alarm.eventType;
    if (alarm.description) facts.description = alarm.description;
    const evidence: EvidenceInput[] = [];
    const camera = cameras.cameras.get(alarm.deviceId);
    if (camera?.canSnapshot) {
      try {
        evidence.push({ bytes: await camera.snapshot(), class: 'snapshot', mime: 'image/jpeg', camera: alarm.deviceId });
      } catch (err) {
        log.warn({ camera: alarm.deviceId, err: (err as Error).message }, 'gb28181: no snapshot for the alarm');
      }
    }
    const signal: IncidentSignal = {
      action: 'raise',
      category: meaning.category,
      correlationKey: `${meaning.category}:${alarm.deviceId}`,
      occurredAt: alarm.at,
      facts,
      ...(evidence.length ? { evidence } : {}),
    };
    incidents.submit(signal, device);
  }
}

/** §A.2.5.3: priority 1 is the most urgent (一级警情). */
const PRIORITY: Record<Severity, number> = { critical: 1, major: 2, minor: 3, info: 4 };

/** ffprobe sits next to ffmpeg (both come from Debian's ffmpeg package). */
function ffprobeNextTo(ffmpeg: string): string {
  return ffmpeg.endsWith('ffmpeg') ? `${ffmpeg.slice(0, -'ffmpeg'.length)}ffprobe` : 'ffprobe';
}
