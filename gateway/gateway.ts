/**
 * The composition root: one gateway process, built from one config. Each part is made here, in
 * an order where every part exists before anything that uses it, and runs as a service; the
 * services start in one ordered list and stop in the reverse order, so device traffic stops
 * before the stages it feeds are drained and closed.
 */
import type { IncidentMessage } from '../contracts/incident.js';
import type { ReplyEvidence } from '../contracts/commands.js';
import { localClock } from '../core/time.js';
import { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import type { DeviceBroker } from '../broker/broker.js';
import { cameraEventOutput } from '../devices/camera/events.js';
import { type CameraCapture, type CameraEvent, CameraManager, streamCamera } from '../devices/camera/manager.js';
import { Cluster } from './cluster/cluster.js';
import type { Config, GatewayCamera } from './config/schema.js';
import { DeviceCommands } from './device-commands.js';
import { deviceBroker } from './device-broker.js';
import { DeviceDirectory, type GatewayDevice, type NewDeviceInput, watched } from './devices/directory.js';
import { Evidence } from './evidence/service.js';
import { evidenceSink } from './evidence/sinks/index.js';
import { Captures, cameraCaptureInput } from './captures/captures.js';
import { Sources } from './sources.js';
import { type PurgeReport, type PurgeRequest, purgeCaptures } from './captures/purge.js';
import type { EvidenceStore } from './evidence/store.js';
import { gatewayHealth } from './health.js';
import { HeartbeatMonitor } from './heartbeats.js';
import type { IncidentManager } from './incidents/manager.js';
import { incidentsFor, outboxFor } from './incidents/setup.js';
import type { Metrics } from './metrics.js';
import { gatewayMetrics } from './metrics-gauges.js';
import type { Outbox } from './outbox/outbox.js';
import { Pipeline } from './pipeline.js';
import { RejectionLog } from './rejections.js';
import { type Service, Services } from './services.js';
import { Series } from './timeseries/series.js';
import { toLine } from './timeseries/sink.js';
import { uplinkFor } from './uplink/setup.js';
import type { Uplink } from './uplink/uplink.js';
import { Vision } from './vision/vision.js';
import { encodeJpeg } from '../detectors/image.js';
import { GbVideo } from './gb28181.js';
import { VERSION } from '../core/package.js';
import { kindContext, Kinds } from './kinds.js';
import { ApiService } from './api/service.js';
import { leaderJobs, upstreamServices } from './shared-work.js';

export interface GatewayPorts {
  broker: number;
  /** The MQTTS listener's port, when broker.tls is set. */
  brokerTls?: number;
  /** The GB/T 28181 SIP port (UDP and TCP), when gb28181 is set. */
  sip?: number;
  api: number;
}

export class Gateway {
  readonly counters = new Counters();
  readonly series: Series;
  /** This node of an HA pair, when `cluster` is configured. */
  readonly cluster?: Cluster;
  readonly outbox: Outbox;
  readonly evidenceService: Evidence;
  readonly incidents: IncidentManager;
  readonly uplink?: Uplink;
  readonly directory: DeviceDirectory;
  readonly rejections: RejectionLog;
  readonly heartbeats: HeartbeatMonitor;
  readonly pipeline: Pipeline;
  readonly broker: DeviceBroker;
  readonly cameras: CameraManager<GatewayCamera>;
  readonly vision: Vision;
  /** Devices that come through zigbee2mqtt or ChirpStack. */
  readonly sources: Sources;
  /** Captures (one per track) to the centre, from detectors and smart cameras. */
  readonly captures: Captures;
  /** GB/T 28181 (cameras and NVRs registering to the gateway), when configured. */
  readonly gb28181?: GbVideo;
  readonly metrics: Metrics;
  /** Where it listens, once started (the system picks ports given as 0). */
  ports?: GatewayPorts;
  readonly startedAt = Date.now();
  private readonly services: Services;
  private readonly api: ApiService;

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    const { counters } = this;
    const child = (component: string) => log.child({ component });
    this.series = new Series(config, log, counters);
    const cluster = config.cluster
      ? new Cluster({
          url: config.cluster.redis,
          gatewayId: config.gateway.id,
          node: config.cluster.node,
          leaseMs: config.cluster.leaseSeconds * 1000,
          log: child('cluster'),
          counters,
        })
      : undefined;
    this.cluster = cluster;
    const incidentLog = child('incidents');
    this.outbox = outboxFor(config, { counters, log: incidentLog, cluster });
    this.evidenceService = new Evidence(config, counters, child('evidence'));
    this.incidents = incidentsFor(config, { outbox: this.outbox, evidence: this.evidenceService, counters, log: incidentLog, cluster });
    this.uplink = uplinkFor(config, {
      outbox: this.outbox,
      incidents: this.incidents,
      counters,
      log,
      snapshot: (id) => this.snapshotForPlatform(id),
    });
    const uplink = this.uplink;
    this.evidenceService.pushThrough(
      evidenceSink(
        config,
        uplink ? { root: uplink.topics.root, publish: (topic, payload) => uplink.publishQos1(topic, payload) } : undefined,
      ),
    );
    this.captures = new Captures({
      config,
      evidence: this.evidenceService,
      ...(uplink ? { upstream: { root: uplink.topics.root, publish: (topic, payload) => uplink.publishQos1(topic, payload) } } : {}),
      counters,
      log: child('captures'),
      // A camera with its own analytics and the gateway's plate detector reads each plate twice.
      reconciles: (id) => {
        const c = this.cameras.cameras.get(id)?.config;
        return Boolean(c && (c.isapi || c.dahua) && (c.detect as Record<string, unknown> | undefined)?.plate);
      },
    });
    if (uplink)
      uplink.onConnect(() => {
        this.evidenceService.push?.wake();
        this.captures.wake();
      });
    this.directory = new DeviceDirectory(config);
    this.rejections = new RejectionLog(counters, child('ingest'));
    this.heartbeats = new HeartbeatMonitor(this.devices.map(watched), this.incidents);
    if (cluster) this.heartbeats.share = (id, at) => cluster.seen(id, at);
    const deviceCommands = new DeviceCommands({ incidents: this.incidents, counters, log: child('device-commands') });
    this.cameras = new CameraManager(config.cameras, {
      ffmpegPath: config.video.ffmpegPath,
      log: child('cameras'),
      feed: (id) => this.gb28181?.feed(id),
      encode: (frame) => encodeJpeg(frame, 4, config.video.ffmpegPath),
    });
    const kinds = new Kinds(config.kinds as Record<string, Record<string, unknown> | undefined>, () => kindContext(this));
    this.pipeline = new Pipeline({
      sink: this.series.sink,
      incidents: this.incidents,
      rejections: this.rejections,
      counters,
      rules: kinds.rules,
      commands: deviceCommands,
      heartbeats: this.heartbeats,
      log: child('ingest'),
      storeCapture: async (c, device) => {
        const sha256 = (await this.evidenceService.put({ bytes: c.image, class: c.subject, mime: c.mime })).sha256;
        // A smart camera's own capture goes to the centre like a detector's, queued durably before the device is
        // answered (so a kill -9 after the answer loses nothing) — but the answer waits 2 s at most, since
        // masking a large batch can take longer than a camera waits; its failure never refuses the message.
        const recorded = this.captures
          .record(
            cameraCaptureInput({
              camera: device.id,
              grid: device.grid,
              subject: c.subject,
              at: c.ts,
              ...(c.confidence !== undefined ? { confidence: c.confidence } : {}),
              ...(c.plate ? { plate: c.plate } : {}),
              ...(c.plateColor ? { color: c.plateColor } : {}),
              ...(c.direction ? { direction: c.direction } : {}),
              crop: { bytes: c.image, mime: c.mime },
              ...(c.scene ? { scene: { bytes: c.scene.image, mime: c.scene.mime } } : {}),
            }),
          )
          .catch((err: unknown) => log.warn({ device: device.id, err: (err as Error).message }, 'capture not recorded'));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([recorded, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        return sha256;
      },
      ...(cluster ? { shareRules: (id: string, json: string) => cluster.saveRules(id, json) } : {}),
      onVideoSource: (v) => {
        const detect = config.vision.liveVideoDetect;
        // Defaults inside the config's union are not filled by the validator: filled here.
        const camera = streamCamera(videoCameraId(v.deviceId), v.grid, v.url, `${v.deviceId} live video`);
        void this.cameras.upsert({
          ...camera,
          ...(detect ? { detect: { ...detect, minSize: detect.minSize ?? 16, zones: detect.zones ?? [] } } : {}),
        });
      },
      onVideoSourceEnd: (v) => {
        void this.cameras
          .remove(videoCameraId(v.deviceId))
          .catch((err: unknown) => log.warn({ device: v.deviceId, err: (err as Error).message }, 'could not stop the live video camera'));
      },
      snapshots: {
        // The device's own cameras when the config names them, else every camera of its cell.
        forDevice: async (device) =>
          (await this.cameras.snapshotsOf(device.grid, config.devices.find((d) => d.id === device.id)?.cameras)).map((s) => ({
            bytes: s.jpeg,
            class: 'snapshot' as const,
            mime: 'image/jpeg',
            camera: s.camera,
          })),
      },
    });
    this.broker = deviceBroker(config, {
      devices: this.devices,
      pipeline: this.pipeline,
      counters,
      log: child('broker'),
      ...(cluster ? { cluster } : {}),
    });
    this.sources = new Sources({
      config,
      devices: () => this.devices,
      pipeline: this.pipeline,
      session: (id) => this.broker.deviceSession(id),
      rejections: this.rejections,
      unreachable: (device, reason) => this.heartbeats.unreachable(device, reason),
      counters,
      log: child('sources'),
    });
    deviceCommands.publishVia(async (topic, payload) => {
      // dev/{id}/…: a device that comes through a source gets its command as its model's downlink.
      const id = topic.split('/')[1] ?? '';
      if (!this.sources.owns(id)) return this.broker.publishToDevice(topic, payload);
      if (!(await this.sources.command(id, payload))) throw new Error('its model has no downlink for this command, or its source is down');
    });
    this.cameras.on('event', (e: CameraEvent) => {
      const c = this.cameras.cameras.get(e.camera)?.config;
      const hours = c?.intrusionHours
        ? { window: c.intrusionHours, local: localClock(e.at, config.gateway.timezone).slice(0, 5) }
        : undefined;
      const out = cameraEventOutput(e, c?.name, hours);
      this.series.sink.writeLine(toLine(out.point));
      if (out.signal) this.incidents.submit(out.signal, out.device);
    });
    this.cameras.on('capture', (c: CameraCapture) => this.cameraCapture(c));
    if (config.gb28181)
      this.gb28181 = new GbVideo(config.gb28181, {
        cameras: this.cameras,
        cameraConfigs: config.cameras,
        identity: { name: `gridedge ${config.gateway.id}`, version: VERSION },
        dataDir: config.dataDir,
        ffmpegPath: config.video.ffmpegPath,
        ...(cluster ? { leading: () => cluster.leader } : {}),
        heartbeats: this.heartbeats,
        incidents: this.incidents,
        sink: this.series.sink,
        counters,
        log: child('gb28181'),
      });
    if (this.gb28181?.cascade) {
      const gb = this.gb28181;
      this.incidents.onMessage((m) => gb.forward(m));
    }
    const { metrics, detectorTiming } = gatewayMetrics(this);
    this.metrics = metrics;
    this.vision = new Vision({
      config,
      cameras: this.cameras,
      incidents: this.incidents,
      sink: this.series.sink,
      counters,
      storeEvidence: (input) => this.evidenceService.put(input),
      onCapture: (c) => this.captures.record(c),
      log: child('vision'),
      onTiming: detectorTiming,
    });
    this.api = new ApiService(this, () => kinds.routes());
    this.services = new Services(this.serviceList(kinds, deviceCommands), log);
  }

  /** The services in start order; they stop in the reverse one. */
  private serviceList(kinds: Kinds, deviceCommands: DeviceCommands): Service[] {
    const { cluster, outbox, uplink, incidents, heartbeats, log } = this;
    const shared = { cluster, outbox, uplink, incidents, heartbeats, log };
    return [
      ...upstreamServices(shared),
      ...leaderJobs(shared),
      this.evidenceService.sweeper,
      this.evidenceService.pusher,
      this.captures,
      this.series,
      { name: 'device commands', stop: () => deviceCommands.stop() },
      kinds,
      { name: 'device broker', start: async () => void (await this.broker.start()), stop: () => this.broker.stop() },
      this.sources,
      this.api,
      ...(this.gb28181 ? [this.gb28181] : []),
      { name: 'vision', start: () => this.vision.start(), stop: () => this.vision.stop() },
      { name: 'cameras', start: () => this.cameras.start(), stop: () => this.cameras.stop() },
    ];
  }

  /** Every device the gateway accepts: the config file's, then provisioned ones (added and removed live). */
  get devices(): GatewayDevice[] {
    return this.directory.devices;
  }

  /** Where readings are written (InfluxDB, or the spool). */
  get sink() {
    return this.series.sink;
  }

  get spool() {
    return this.series.spool;
  }

  get evidence(): EvidenceStore {
    return this.evidenceService.store;
  }

  /** The platform's snapshot command: the camera's picture now, stored as evidence, inline when it fits. */
  private async snapshotForPlatform(cameraId: string): Promise<ReplyEvidence | undefined> {
    const camera = this.cameras.cameras.get(cameraId);
    if (!camera) return undefined;
    const bytes = await camera.snapshot();
    const item = await this.evidenceService.forIncident({ bytes, class: 'snapshot', mime: 'image/jpeg' });
    // The image as it may leave (masked unless evidence.privacy allows), which is what the reply names.
    const out = item.masked ? (await this.evidence.get(item.sha256))?.bytes : bytes;
    return {
      camera: cameraId,
      sha256: item.sha256,
      mime: item.mime ?? 'image/jpeg',
      bytes: item.bytes ?? bytes.length,
      takenAt: new Date().toISOString(),
      ...(item.url ? { url: item.url } : {}),
      ...(item.delivery ? { delivery: item.delivery } : {}),
      ...(item.masked ? { masked: true } : {}),
      // Asked for, so sent whenever it fits, whatever evidence.inline says for incidents.
      ...(out && out.length <= this.config.evidence.inlineMaxBytes ? { inline: out.toString('base64') } : {}),
    };
  }

  onIncident(listener: (m: IncidentMessage) => void): void {
    this.incidents.onMessage(listener);
  }

  async start(): Promise<GatewayPorts> {
    await this.services.start();
    const { config } = this;
    const api = this.api.port ?? config.api.port;
    const sip = this.gb28181?.service.port;
    this.ports = {
      broker: this.broker.port!,
      api,
      ...(this.broker.tlsPort !== undefined ? { brokerTls: this.broker.tlsPort } : {}),
      ...(sip !== undefined ? { sip } : {}),
    };
    this.log.info(
      {
        gatewayId: config.gateway.id,
        grid: config.gateway.grid,
        broker: this.ports.broker,
        api,
        series: this.sink.name,
        devices: config.devices.length,
        cameras: config.cameras.length,
      },
      'gateway started',
    );
    return this.ports;
  }

  /** Provisions a device live: it may connect at once; kept hashed in devices.json for the next start. */
  async addDevice(input: NewDeviceInput): Promise<{ id: string; secret?: string }> {
    const { device, secret } = await this.directory.add(input);
    this.broker.addDevice(device);
    this.heartbeats.add(watched(device));
    this.log.info({ device: input.id, kind: input.kind }, 'device provisioned');
    return secret ? { id: input.id, secret } : { id: input.id };
  }

  /** Removes a provisioned device live: its connection is closed and it is refused from now on. */
  async removeDevice(id: string): Promise<void> {
    await this.directory.remove(id);
    this.broker.removeDevice(id);
    this.heartbeats.remove(id);
    this.log.info({ device: id }, 'device removed');
  }

  /**
   * A capture a smart camera made itself (ISAPI ANPR or face): a plate meets the watchlists, and
   * either goes to the centre as a capture, the camera's own pictures as crop and scene.
   */
  private cameraCapture(c: CameraCapture): void {
    const name = this.cameras.cameras.get(c.camera)?.config.name;
    const device = { id: c.camera, kind: 'camera', grid: c.grid, ...(name ? { name } : {}) };
    const pick = (re: RegExp) => c.pictures.find((p) => re.test(p.name) && p.mime === 'image/jpeg');
    const crop = pick(/plate|face/i) ?? c.pictures[0];
    const scene = pick(/detection|background|scene|vehicle/i);
    this.counters.inc('camera_captures_total', { camera: c.camera, subject: c.subject });
    if (c.subject === 'plate' && c.plate)
      this.vision.plateFromCamera(device, {
        plate: c.plate,
        at: c.at,
        ...(c.color ? { color: c.color } : {}),
        ...(c.direction ? { direction: c.direction } : {}),
        ...(crop ? { picture: crop.bytes } : {}),
      });
    void this.captures
      .record(
        cameraCaptureInput({
          ...c,
          ...(crop ? { crop: { bytes: crop.bytes, mime: crop.mime } } : {}),
          ...(scene && scene !== crop ? { scene: { bytes: scene.bytes, mime: scene.mime } } : {}),
        }),
      )
      .catch((err: unknown) => this.log.warn({ camera: c.camera, err: (err as Error).message }, 'camera capture not recorded'));
  }

  /** Removes a subject's captures (by plate or capture id): images, queued deliveries, index lines. */
  async purgeCaptures(req: PurgeRequest): Promise<PurgeReport> {
    const report = await purgeCaptures(req, {
      indexFile: this.captures.indexFile,
      store: this.evidence,
      unqueueEvidence: (shas) => this.evidenceService.push?.remove(shas) ?? Promise.resolve(0),
      unqueueCaptures: (ids) => this.captures.forget(ids),
    });
    this.counters.inc('captures_purged_total', undefined, report.captures.length);
    return report;
  }

  /** Deletes evidence past its class's retention; counted per class. */
  sweepEvidence(): Promise<void> {
    return this.evidenceService.sweep();
  }

  health() {
    return gatewayHealth(this);
  }

  /** Stops taking device traffic first, then drains what is in flight to its destinations. */
  async stop(): Promise<void> {
    await this.services.stop();
    this.log.info('gateway stopped');
  }
}

/** The camera a device's live video becomes (a drone's, a dock's). */
const videoCameraId = (deviceId: string) => `${deviceId}-video`;
