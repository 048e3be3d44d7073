/**
 * The composition root: one gateway process, built from one config. Each stage is created here
 * and wired to the next; start and stop run in dependency order so nothing is dropped between.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { deviceTopics } from '../broker/acl.js';
import { DeviceBroker, type RegisteredDevice } from '../broker/broker.js';
import type { DeviceInfo, DeviceKind, EvidenceInput, IncidentSignal, KindContext, KindRuntime } from '../devices/types.js';
import { deviceOptionProblems } from './config/load.js';
import { gridCodeProblem } from '../contracts/grid.js';
import { loadProvisioned, provisionedFile } from './devices/provisioned.js';
import { deviceKinds } from '../devices/registry.js';
import { CameraManager, streamCamera, type CameraEvent } from '../devices/camera/manager.js';
import type { ApiContext, DeviceView, Health } from './api/context.js';
import { startApi } from './api/server.js';
import { Metrics } from './metrics.js';
import { digestHA1 } from '../core/credentials.js';
import { provisionRecord, saveProvisioned } from './devices/provisioned.js';
import type { Config, GatewayCamera } from './config/schema.js';
import { IncidentManager } from './incidents/manager.js';
import type { IncidentMessage } from '../contracts/incident.js';
import { DEFAULT_LANES, laneOf } from './outbox/lanes.js';
import { Outbox } from './outbox/outbox.js';
import type { Logger } from '../core/log.js';
import { DeviceCommands } from './device-commands.js';
import { HeartbeatMonitor, type Watched } from './heartbeats.js';
import { withOverrides } from './incidents/categories.js';
import { Pipeline } from './pipeline.js';
import { RejectionLog } from './rejections.js';
import { Counters } from '../core/counters.js';
import { evidenceUrl } from './evidence/links.js';
import { linkSecret } from './evidence/secret.js';
import { EvidenceStore, type EvidenceRef } from './evidence/store.js';
import { InfluxSink, routeInfluxClientLogs } from './timeseries/influx.js';
import { toLine, type SeriesSink } from './timeseries/sink.js';
import { SpoolRecovery } from './timeseries/recovery.js';
import { SpoolSink } from './timeseries/spool.js';
import { Cluster } from './cluster/cluster.js';
import { CommandHandler } from './uplink/commands.js';
import { Uplink } from './uplink/uplink.js';
import { VERSION } from '../core/package.js';
import { Vision } from './vision.js';
import type { Histogram } from 'prom-client';
import { maskSecrets } from '../core/secrets.js';

type GatewayDevice = RegisteredDevice & { heartbeatSeconds?: number; digest?: { realm: string; ha1: string } };

/** The config file's devices and those provisioned with `gridedge devices add`, as one list. */
function registeredDevices(config: Config): GatewayDevice[] {
  const fromConfig: GatewayDevice[] = config.devices.map((d) => ({
    info: deviceInfo(d),
    kind: kindOf(d.kind),
    ...(d.secret !== undefined ? { secret: d.secret } : {}),
    ...(d.secretHash !== undefined ? { secretHash: d.secretHash } : {}),
    options: d.options,
    ...(d.heartbeatSeconds !== undefined ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
  }));
  const ids = new Set(fromConfig.map((d) => d.info.id));
  const provisioned = loadProvisioned(config.dataDir).map((p): GatewayDevice => {
    if (ids.has(p.id)) throw new Error(`device ${p.id} is both in the config file and in ${provisionedFile(config.dataDir)}: remove one`);
    const kind = kindOf(p.kind);
    const options = structuredClone(p.options ?? {});
    const problems = deviceOptionProblems(p.kind, options, `${p.id}.options`);
    if (problems.length) throw new Error(`${provisionedFile(config.dataDir)}: ${problems.join('; ')}`);
    return {
      info: deviceInfo({ ...p, grid: p.grid ?? config.gateway.grid }),
      kind,
      secretHash: p.secretHash,
      options,
      ...(p.digest ? { digest: p.digest } : {}),
      ...((p.heartbeatSeconds ?? kind.heartbeatSeconds) ? { heartbeatSeconds: p.heartbeatSeconds ?? kind.heartbeatSeconds } : {}),
    };
  });
  return [...fromConfig, ...provisioned];
}

/** What the heartbeat monitor needs of a device. */
function watched(d: GatewayDevice): Watched {
  return {
    info: d.info,
    ...(d.heartbeatSeconds ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
    ...(d.kind.offlineCategory ? { category: d.kind.offlineCategory } : {}),
  };
}

function kindOf(name: string): DeviceKind {
  const kind = deviceKinds.get(name);
  if (!kind) throw new Error(`unknown device kind '${name}' (known: ${[...deviceKinds.keys()].join(', ')})`);
  return kind;
}

function deviceInfo(d: { id: string; kind: string; grid: string; name?: string; location?: { lat: number; lon: number } }): DeviceInfo {
  return { id: d.id, kind: d.kind, grid: d.grid, ...(d.name ? { name: d.name } : {}), ...(d.location ? { location: d.location } : {}) };
}

const CAMERA_TAMPER = 'camera.tamper';
const CAMERA_VIDEO_LOST = 'camera.video_lost';

/** Per-camera gauges for /metrics. */
function cameraGauges(health: () => ReturnType<CameraManager['health']>) {
  const per = (name: string, help: string, value: (h: ReturnType<CameraManager['health']>[number]) => number) => ({
    name,
    help,
    labelNames: ['camera'],
    read: () => health().map((h) => ({ labels: { camera: h.id }, value: value(h) })),
  });
  return [
    per('camera_connected', '1 while frames are flowing from the camera', (h) => (h.stream?.connected ? 1 : 0)),
    per('camera_fps_in', 'frames per second decoded from the camera', (h) => h.stream?.fpsIn ?? 0),
    per('camera_frames', 'frames decoded from the camera', (h) => h.stream?.frames ?? 0),
    per('camera_frames_dropped', 'frames dropped because the detectors were behind', (h) => h.framesDropped),
    per('camera_stream_restarts', 'stream reconnections', (h) => h.stream?.restarts ?? 0),
    per('camera_stream_stalls', 'streams found stalled and restarted', (h) => h.stream?.stalls ?? 0),
    per('camera_motion', '1 while the camera reports motion', (h) => (h.motion ? 1 : 0)),
  ];
}

export interface GatewayPorts {
  broker: number;
  /** The MQTTS listener's port, when broker.tls is set. */
  brokerTls?: number;
  api: number;
}

export class Gateway {
  readonly counters = new Counters();
  readonly incidents: IncidentManager;
  readonly rejections: RejectionLog;
  readonly pipeline: Pipeline;
  readonly sink: SeriesSink;
  readonly spool: SpoolSink;
  private readonly recovery?: SpoolRecovery;
  readonly uplink?: Uplink;
  readonly outbox: Outbox;
  /** This node of an HA pair, when `cluster` is configured. */
  readonly cluster?: Cluster;
  readonly heartbeats: HeartbeatMonitor;
  private readonly kinds: Array<{ kind: string; runtime: KindRuntime }>;
  /** Every device the gateway accepts: the config file's, then provisioned ones (added and removed live). */
  readonly devices: GatewayDevice[];
  private readonly metrics: Metrics;
  private readonly deviceCommands: DeviceCommands;
  readonly cameras: CameraManager<GatewayCamera>;
  readonly vision: Vision;
  /** Where it listens, once started (the system picks ports given as 0). */
  ports?: GatewayPorts;
  private readonly detectorSeconds: Histogram<'detector'>;
  private readonly detectorWaitSeconds: Histogram;
  private heartbeatTimer?: NodeJS.Timeout;
  readonly evidence: EvidenceStore;
  private readonly linkSecret: string;
  /** Where evidence links point; follows the real port when the system picked it (port 0). */
  private publicUrl: string;
  private sweeper?: NodeJS.Timeout;
  private expiry?: NodeJS.Timeout;
  private deadlines?: NodeJS.Timeout;
  private readonly broker: DeviceBroker;
  private api?: FastifyInstance;
  private readonly startedAt = Date.now();
  private brokerPort?: number;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {
    const { gateway } = config;
    const spoolLog = log.child({ component: 'spool' });
    this.spool = new SpoolSink({
      dir: path.join(config.dataDir, 'spool'),
      onError: (err) => spoolLog.error({ err: err.message }, 'spool write failed'),
    });
    if (config.influx) {
      const influxLog = log.child({ component: 'influx' });
      routeInfluxClientLogs(influxLog);
      const target = { url: config.influx.url, token: config.influx.token ?? '', org: config.influx.org, bucket: config.influx.bucket };
      this.sink = new InfluxSink({
        ...target,
        batchSize: config.influx.batchSize,
        flushIntervalMs: config.influx.flushIntervalMs,
        maxRetries: config.influx.maxRetries,
        fallback: (lines) => {
          influxLog.warn({ lines: lines.length }, 'series server refused lines; spooled to disk for replay');
          this.spool.writeLines(lines);
        },
        onError: (err) => influxLog.debug({ err: err.message }, 'series write failed'),
      });
      this.recovery = new SpoolRecovery({
        spool: this.spool,
        dir: path.join(config.dataDir, 'spool'),
        target,
        log: influxLog,
        counters: this.counters,
        intervalMs: config.influx.replayIntervalMs,
      });
    } else {
      this.sink = this.spool;
    }

    const incidentLog = log.child({ component: 'incidents' });
    const cluster = config.cluster
      ? new Cluster({
          url: config.cluster.redis,
          gatewayId: gateway.id,
          node: config.cluster.node,
          leaseMs: config.cluster.leaseSeconds * 1000,
          log: log.child({ component: 'cluster' }),
          counters: this.counters,
        })
      : undefined;
    this.cluster = cluster;
    const lanes = { ...DEFAULT_LANES, ...config.outbox.lanes };
    const laneFor = (category: string) => laneOf(category, lanes);
    this.outbox = new Outbox({
      ...(cluster ? { log: cluster.log } : { dir: path.join(config.dataDir, 'outbox') }),
      lanes: laneFor,
      maxBytes: config.outbox.maxBytes,
      maxAgeMs: config.outbox.maxAgeHours * 3600_000,
      onDrop: (entry, reason) => {
        this.counters.inc('outbox_dropped_total', { lane: String(entry.lane), reason });
        incidentLog.error(
          { seq: entry.seq, id: entry.message.id, category: entry.message.category, lane: entry.lane, reason },
          'incident message dropped from the outbox (lowest lane, oldest first)',
        );
        this.uplink?.publishStatus();
      },
      onError: (err) => incidentLog.error({ err: err.message }, 'outbox write failed'),
    });
    this.evidence = new EvidenceStore({ dir: path.join(config.dataDir, 'evidence'), retentionHours: config.evidence.retentionHours });
    this.linkSecret = linkSecret(config.api.linkSecret, path.join(config.dataDir, 'state'));
    this.publicUrl = config.api.publicUrl ?? `http://${config.api.host}:${config.api.port}`;
    this.incidents = new IncidentManager({
      gatewayId: gateway.id,
      categories: withOverrides(config.incidents.categories),
      storeEvidence: async (input) => {
        const ref = await this.storeEvidence(input);
        const inline = config.evidence.inline && input.bytes.length <= config.evidence.inlineMaxBytes;
        return {
          kind: 'image' as const,
          sha256: ref.sha256,
          class: ref.class,
          mime: ref.mime,
          bytes: ref.bytes,
          url: evidenceUrl(this.publicUrl, this.linkSecret, ref.sha256, config.evidence.linkTtlHours * 3600),
          ...(input.boxes ? { boxes: input.boxes } : {}),
          ...(inline ? { inline: input.bytes.toString('base64') } : {}),
        };
      },
      nextSeq: () => this.outbox.nextSeq(),
      persist: (m) => this.outbox.put(m, laneFor(m.category)),
      restore: this.outbox.liveIncidents(),
      ...(cluster ? { exclusive: <T>(change: () => T) => cluster.exclusive(change) } : {}),
      onListenerError: (err) => incidentLog.error({ err: (err as Error).message }, 'incident listener failed'),
    });
    // The other node's incidents, so repeats fold into them here and commands apply to them.
    this.outbox.onReplicated((m) => this.incidents.observe(m));
    this.incidents.onMessage((m) => {
      this.counters.inc('incident_messages_total', { category: m.category, type: m.type });
      incidentLog.info(
        { id: m.id, seq: m.seq, type: m.type, category: m.category, status: m.status, grid: m.grid, count: m.count },
        'incident',
      );
    });

    if (config.upstream) {
      const uplink = new Uplink({
        url: config.upstream.url,
        username: config.upstream.username,
        password: config.upstream.password,
        protocolVersion: config.upstream.protocolVersion,
        tls: {
          rejectUnauthorized: config.upstream.rejectUnauthorized,
          ...(config.upstream.ca ? { ca: readFileSync(config.upstream.ca) } : {}),
          ...(config.upstream.cert ? { cert: readFileSync(config.upstream.cert) } : {}),
          ...(config.upstream.key ? { key: readFileSync(config.upstream.key) } : {}),
        },
        clientId: config.upstream.clientId ?? `gridedge-${gateway.id}`,
        gatewayId: gateway.id,
        grid: gateway.grid,
        version: VERSION,
        log: log.child({ component: 'uplink' }),
        counters: this.counters,
        outbox: this.outbox,
        commands: new CommandHandler({
          incidents: this.incidents,
          secret: config.upstream.commandSecret,
          log: log.child({ component: 'commands' }),
          counters: this.counters,
        }),
      });
      this.uplink = uplink;
      if (!config.upstream.commandSecret)
        log.warn('upstream.commandSecret is not set: platform commands (ack, dispatch, resolve, close) will be refused');
    }

    const devices = registeredDevices(config);
    this.devices = devices;

    // Each kind starts once from its settings (kinds may load registries, watchlists, add routes).
    const settings = config.kinds as Record<string, Record<string, unknown> | undefined>;
    const kindContext: KindContext = {
      baseDir: config.baseDir,
      authenticate: async (deviceId, secret) => (await this.broker.sessionFor(deviceId, secret))?.device,
      ingest: (deviceId, messages) => {
        const device = devices.find((d) => d.info.id === deviceId);
        if (!device) return Promise.reject(new Error(`unknown device ${deviceId}`));
        const session = { device: device.info, kind: device.kind, options: device.options, topics: deviceTopics(device.kind, deviceId) };
        return this.pipeline.ingest(session, messages, Date.now());
      },
      storeEvidence: async (input) => (await this.storeEvidence(input)).sha256,
      reject: (deviceId, channel, reason, detail, payload) =>
        this.rejections.record(
          deviceId,
          devices.find((d) => d.info.id === deviceId)?.kind.kind ?? 'unknown',
          channel,
          reason,
          detail,
          payload,
        ),
      digestHA1: (deviceId, realm) => {
        const d = devices.find((x) => x.info.id === deviceId);
        if (d?.secret !== undefined) return digestHA1(deviceId, realm, d.secret);
        return d?.digest?.realm === realm ? d.digest.ha1 : undefined;
      },
    };
    this.kinds = [...deviceKinds.values()].map((k) => ({ kind: k.kind, runtime: k.start(settings[k.kind] ?? {}, kindContext) }));
    const rules = new Map(this.kinds.map((k) => [k.kind, k.runtime.rules]));
    this.rejections = new RejectionLog(this.counters, log.child({ component: 'ingest' }));
    this.heartbeats = new HeartbeatMonitor(devices.map(watched), this.incidents);
    if (cluster) this.heartbeats.share = (id, at) => cluster.seen(id, at);
    this.deviceCommands = new DeviceCommands({
      publish: (topic, payload) => this.broker.publishToDevice(topic, payload),
      incidents: this.incidents,
      counters: this.counters,
      log: log.child({ component: 'device-commands' }),
    });
    this.pipeline = new Pipeline({
      sink: this.sink,
      incidents: this.incidents,
      rejections: this.rejections,
      counters: this.counters,
      rules,
      commands: this.deviceCommands,
      heartbeats: this.heartbeats,
      log: log.child({ component: 'ingest' }),
      storeCapture: (c) => kindContext.storeEvidence({ bytes: c.image, class: c.subject, mime: c.mime }),
      ...(cluster ? { shareRules: (id: string, json: string) => cluster.saveRules(id, json) } : {}),
      onVideoSource: (v) => {
        const detect = config.vision.liveVideoDetect;
        // Defaults inside the config's union are not filled by the validator: filled here.
        void this.cameras.upsert({
          ...streamCamera(`${v.deviceId}-video`, v.grid, v.url, `${v.deviceId} live video`),
          ...(detect ? { detect: { ...detect, minSize: detect.minSize ?? 16, zones: detect.zones ?? [] } } : {}),
        });
      },
      snapshots: {
        forCell: async (grid) =>
          (await this.cameras.snapshotsOf(grid)).map((s) => ({ bytes: s.jpeg, class: 'snapshot' as const, mime: 'image/jpeg' })),
      },
    });
    this.cameras = new CameraManager(config.cameras, { ffmpegPath: config.video.ffmpegPath, log: log.child({ component: 'cameras' }) });
    this.cameras.on('event', (e: CameraEvent) => this.cameraEvent(e));
    this.vision = new Vision({
      config,
      cameras: this.cameras,
      incidents: this.incidents,
      sink: this.sink,
      counters: this.counters,
      storeEvidence: (input) => this.storeEvidence(input),
      log: log.child({ component: 'vision' }),
      onTiming: (ms, waitMs) => {
        for (const [detector, v] of Object.entries(ms)) this.detectorSeconds.observe({ detector }, v / 1000);
        this.detectorWaitSeconds.observe(waitMs / 1000);
      },
    });
    this.metrics = new Metrics(this.counters, [
      {
        name: 'outbox_pending',
        help: 'incident messages waiting for the upstream broker',
        read: () => [{ value: this.outbox.stats().pending }],
      },
      {
        name: 'outbox_oldest_age_seconds',
        help: 'age of the oldest pending incident message',
        read: () => [{ value: this.outbox.stats().oldestAgeMs / 1000 }],
      },
      {
        name: 'outbox_last_seq',
        help: 'the last incident message sequence number used',
        read: () => [{ value: this.outbox.stats().lastSeq }],
      },
      { name: 'series_pending_lines', help: 'readings buffered for the series store', read: () => [{ value: this.sink.stats().pending }] },
      {
        name: 'series_dropped_lines',
        help: 'readings given up on',
        read: () => [{ value: this.sink.stats().dropped + (this.sink === this.spool ? 0 : this.spool.stats().dropped) }],
      },
      { name: 'spool_bytes', help: 'bytes of readings spooled on disk', read: () => [{ value: this.spool.bytesOnDisk }] },
      {
        name: 'broker_connections',
        help: 'devices connected to the embedded broker',
        read: () => [{ value: this.broker.connectedClients }],
      },
      ...cameraGauges(() => this.cameras.health()),
      {
        name: 'detector_mean_ms',
        help: 'mean milliseconds per frame of each detector (last 50 frames)',
        labelNames: ['detector'],
        read: () =>
          Object.entries(this.vision.health().workers?.meanMs ?? {}).map(([detector, value]) => ({ labels: { detector }, value })),
      },
      {
        name: 'detector_queue',
        help: 'frames waiting for a free detector worker',
        read: () => [{ value: this.vision.health().workers?.queued ?? 0 }],
      },
      {
        name: 'uplink_connected',
        help: '1 when the uplink to the platform is up',
        read: () => [{ value: this.uplink?.connected ? 1 : 0 }],
      },
      ...(this.cluster
        ? [
            {
              name: 'cluster_leader',
              help: '1 while this node leads its HA pair (uplink, deadlines, offline checks)',
              read: () => [{ value: this.cluster?.leader ? 1 : 0 }],
            },
          ]
        : []),
      {
        name: 'incidents_active',
        help: 'incidents open, acknowledged or dispatched, by category and status',
        labelNames: ['category', 'status'],
        read: () => {
          const counts = new Map<string, number>();
          for (const m of this.incidents.activeIncidents())
            counts.set(`${m.category}\u0000${m.status}`, (counts.get(`${m.category}\u0000${m.status}`) ?? 0) + 1);
          return [...counts].map(([k, value]) => {
            const [category, status] = k.split('\u0000') as [string, string];
            return { labels: { category, status }, value };
          });
        },
      },
    ]);
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    this.detectorSeconds = this.metrics.histogram(
      'detector_seconds',
      'time per frame of each detector, in its worker thread',
      ['detector'],
      buckets,
    );
    this.detectorWaitSeconds = this.metrics.histogram(
      'detector_wait_seconds',
      'time a frame waited for a free detector worker',
      [],
      buckets,
    );
    this.broker = new DeviceBroker({
      host: config.broker.host,
      port: config.broker.port,
      limits: config.broker,
      accounts: config.broker.accounts.map((a) => ({
        username: a.username,
        ...(a.password ? { password: a.password } : {}),
        ...(a.passwordHash ? { passwordHash: a.passwordHash } : {}),
        acl: a.acl,
      })),
      statsIntervalSeconds: config.broker.statsIntervalSeconds,
      persistenceDir: path.join(config.dataDir, 'broker'),
      ...(cluster && config.cluster
        ? {
            cluster: { redisUrl: config.cluster.redis, node: config.cluster.node, heartbeatSeconds: config.cluster.heartbeatSeconds },
            // The device may come from the other node: its rule memory first, then its CONNACK.
            beforeConnack: (session) =>
              cluster.loadRules(session.device.id).then((rules) => this.pipeline.restoreRules(session.device.id, rules)),
          }
        : {}),
      ...(config.broker.tls
        ? {
            tls: {
              port: config.broker.tls.port,
              cert: readFileSync(config.broker.tls.cert),
              key: readFileSync(config.broker.tls.key),
              ...(config.broker.tls.ca ? { ca: readFileSync(config.broker.tls.ca) } : {}),
              requireClientCert: config.broker.tls.requireClientCert,
            },
          }
        : {}),
      brokerId: config.cluster ? `gridedge-${gateway.id}-${config.cluster.node}` : `gridedge-${gateway.id}`,
      devices,
      counters: this.counters,
      log: log.child({ component: 'broker' }),
      onMessage: (session, channel, payload, receivedAt) => this.pipeline.handle(session, channel, payload, receivedAt),
      onPresence: (session, connected) => this.pipeline.presence(session.device, connected),
    });
  }

  onIncident(listener: (m: IncidentMessage) => void): void {
    this.incidents.onMessage(listener);
  }

  async start(): Promise<GatewayPorts> {
    const cluster = this.cluster;
    if (cluster) {
      try {
        await cluster.connect();
        await this.outbox.ready();
      } catch (err) {
        await cluster.stop();
        throw err;
      }
      // The uplink, deadlines, expiry and offline checks belong to the pair's leader only.
      cluster.onLeadership((leader) => {
        if (leader) this.uplink?.start();
        else void this.uplink?.stop(false);
      });
      cluster.startLease();
    } else {
      this.uplink?.start();
    }
    const leading = () => !cluster || cluster.leader;
    const withIncidents = <T>(change: () => T): Promise<T> => (cluster ? cluster.exclusive(change) : Promise.resolve().then(change));
    this.expiry = setInterval(() => {
      if (!leading()) return;
      void withIncidents(() => this.outbox.expire(this.uplink?.inFlight)).catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, 'outbox expiry failed'),
      );
      if (cluster)
        void cluster
          .exclusiveAsync(() => cluster.log.compact())
          .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'shared outbox compaction failed'));
    }, 60_000);
    this.expiry.unref();
    this.deadlines = setInterval(() => {
      if (leading())
        void withIncidents(() => this.incidents.checkDeadlines()).catch((err: unknown) =>
          this.log.warn({ err: (err as Error).message }, 'deadline check failed'),
        );
    }, 10_000);
    this.deadlines.unref();
    this.recovery?.start();
    this.heartbeatTimer = setInterval(() => {
      if (!cluster) return this.heartbeats.check();
      if (!cluster.leader) return;
      void cluster.lastSeen().then(
        (seen) => {
          this.heartbeats.merge(seen);
          this.heartbeats.check();
        },
        (err: unknown) => this.log.warn({ err: (err as Error).message }, "offline check skipped: the pair's sightings are unreadable"),
      );
    }, 5000);
    this.heartbeatTimer.unref();
    this.sweeper = setInterval(() => void this.sweepEvidence(), this.config.evidence.sweepIntervalMinutes * 60_000);
    this.sweeper.unref();
    const broker = await this.broker.start();
    try {
      const { app, port } = await startApi(
        {
          host: this.config.api.host,
          port: this.config.api.port,
          version: VERSION,
          routes: this.kinds.flatMap((k) => k.runtime.routes ?? []),
          tokens: this.config.api.tokens.filter((t) => t.token).map((t) => ({ name: t.name, token: t.token!, role: t.role })),
        },
        this.apiContext(),
        this.log,
      );
      this.brokerPort = broker;
      this.api = app;
      if (!this.config.api.publicUrl) this.publicUrl = `http://${this.config.api.host}:${port}`;
      this.vision.start();
      this.cameras.start();
      this.log.info(
        {
          gatewayId: this.config.gateway.id,
          grid: this.config.gateway.grid,
          broker,
          api: port,
          series: this.sink.name,
          devices: this.config.devices.length,
          cameras: this.config.cameras.length,
        },
        'gateway started',
      );
      this.ports = { broker, api: port, ...(this.broker.tlsPort !== undefined ? { brokerTls: this.broker.tlsPort } : {}) };
      return this.ports;
    } catch (err) {
      await this.broker.stop();
      await this.uplink?.stop();
      await this.outbox.close();
      await this.cluster?.stop();
      clearInterval(this.expiry);
      clearInterval(this.deadlines);
      clearInterval(this.sweeper);
      clearInterval(this.heartbeatTimer);
      throw err;
    }
  }

  /** Motion and tamper go to the series store; tamper and lost video are incidents too. */
  private cameraEvent(e: CameraEvent): void {
    const device: DeviceInfo = {
      id: e.camera,
      kind: 'camera',
      grid: e.grid,
      ...(this.cameras.cameras.get(e.camera)?.config.name ? { name: this.cameras.cameras.get(e.camera)!.config.name! } : {}),
    };
    this.sink.writeLine(
      toLine({
        measurement: 'camera',
        tags: { camera: e.camera, grid: e.grid },
        fields: { [e.kind === 'video_back' ? 'video_lost' : e.kind]: e.state },
        ts: e.at,
      }),
    );
    const key = (category: string) => `${category}:${e.camera}`;
    const signal = (category: string): IncidentSignal =>
      e.state
        ? {
            action: 'raise',
            category,
            correlationKey: key(category),
            occurredAt: e.at,
            facts: { camera: e.camera, ...(e.detail ? { detail: e.detail } : {}) },
          }
        : {
            action: 'resolve',
            correlationKey: key(category),
            occurredAt: e.at,
            reason: e.kind === 'video_back' ? 'frames flow again' : 'the camera reports no tampering',
          };
    if (e.kind === 'tamper') void this.incidents.handle(signal(CAMERA_TAMPER), device);
    if (e.kind === 'video_lost' || e.kind === 'video_back') void this.incidents.handle(signal(CAMERA_VIDEO_LOST), device);
  }

  private deviceView(d: GatewayDevice): DeviceView {
    const s = this.pipeline.deviceState(d.info.id);
    return {
      ...d.info,
      source: this.config.devices.some((c) => c.id === d.info.id) ? 'config' : 'provisioned',
      online: s.online,
      ...(s.lastSeen ? { lastSeen: new Date(s.lastSeen).toISOString() } : {}),
      messages: s.messages,
      rejected: this.rejections.countFor(d.info.id),
      lastValues: s.lastValues,
    };
  }

  /** What the API may see and do. */
  private apiContext(): ApiContext {
    return {
      health: () => this.health(),
      ready: () => {
        const problems: string[] = [];
        if (this.brokerPort === undefined) problems.push('the device broker is not listening yet');
        return { ready: problems.length === 0, problems };
      },
      devices: () => this.devices.map((d) => this.deviceView(d)),
      device: (id) => {
        const d = this.devices.find((x) => x.info.id === id);
        if (!d) return undefined;
        return {
          ...this.deviceView(d),
          rejections: this.rejections
            .latest(20, id)
            .map(({ at, channel, reason, detail, size, payloadHead }) => ({ at, channel, reason, detail, size, payloadHead })),
          activeIncidents: this.incidents
            .activeIncidents()
            .filter((m) => m.devices.some((x) => x.id === id))
            .map((m) => m.id),
        };
      },
      addDevice: (input) => this.addDevice(input),
      removeDevice: (id) => this.removeDevice(id),
      incidents: (q) => this.incidents.query(q),
      incident: (id) => this.incidents.recentIncident(id),
      command: (id, command, fields) => this.incidents.runCommand({ command, incidentId: id, ...fields }),
      onIncident: (listener) => this.incidents.onMessage(listener),
      videoSources: () => [...this.pipeline.videoSources.values()],
      cameras: () => this.cameras.health(),
      cameraSnapshot: (id) => this.cameras.cameras.get(id)?.snapshot(),
      cameraFrame: (id) => (this.cameras.cameras.has(id) ? this.vision.annotatedFrame(id) : undefined),
      vision: (limit) => ({ ...this.vision.health(), captures: this.vision.recentCaptures(limit) }),
      config: () => maskSecrets(this.config),
      metrics: () => this.metrics.text(),
      evidence: { store: this.evidence, secret: this.linkSecret },
    };
  }

  /** Provisions a device live: it may connect at once; kept hashed in devices.json for the next start. */
  async addDevice(input: {
    id: string;
    kind: string;
    secret?: string;
    grid?: string;
    name?: string;
    location?: { lat: number; lon: number };
    options?: Record<string, unknown>;
  }): Promise<{ id: string; secret?: string }> {
    if (this.devices.some((d) => d.info.id === input.id)) throw new Error(`device ${input.id} exists already`);
    const kind = kindOf(input.kind);
    if (input.grid && gridCodeProblem(input.grid)) throw new Error(`grid: "${input.grid}" is not valid (${gridCodeProblem(input.grid)})`);
    const options = structuredClone(input.options ?? {});
    const problems = deviceOptionProblems(input.kind, options, 'options');
    if (problems.length) throw new Error(problems.join('; '));
    const { record, secret, generated } = await provisionRecord({
      ...input,
      options,
      ...(kind.digestRealm ? { digestRealm: kind.digestRealm } : {}),
    });
    await saveProvisioned(this.config.dataDir, [...loadProvisioned(this.config.dataDir), record]);
    const device: GatewayDevice = {
      info: deviceInfo({
        id: input.id,
        kind: input.kind,
        grid: input.grid ?? this.config.gateway.grid,
        ...(input.name ? { name: input.name } : {}),
        ...(input.location ? { location: input.location } : {}),
      }),
      kind,
      secretHash: record.secretHash,
      options,
      ...(record.digest ? { digest: record.digest } : {}),
      ...(kind.heartbeatSeconds ? { heartbeatSeconds: kind.heartbeatSeconds } : {}),
    };
    this.devices.push(device);
    this.broker.addDevice(device);
    this.heartbeats.add(watched(device));
    this.log.info({ device: input.id, kind: input.kind }, 'device provisioned');
    return generated ? { id: input.id, secret } : { id: input.id };
  }

  /** Removes a provisioned device live: its connection is closed and it is refused from now on. */
  async removeDevice(id: string): Promise<'removed' | 'not_found' | 'in_config'> {
    if (this.config.devices.some((d) => d.id === id)) return 'in_config';
    const provisioned = loadProvisioned(this.config.dataDir);
    if (!provisioned.some((d) => d.id === id)) return 'not_found';
    await saveProvisioned(
      this.config.dataDir,
      provisioned.filter((d) => d.id !== id),
    );
    const i = this.devices.findIndex((d) => d.info.id === id);
    if (i >= 0) this.devices.splice(i, 1);
    this.broker.removeDevice(id);
    this.heartbeats.remove(id);
    this.log.info({ device: id }, 'device removed');
    return 'removed';
  }

  /** Stores one image as evidence (content-addressed, durable) and counts it. */
  private async storeEvidence(input: EvidenceInput): Promise<EvidenceRef> {
    const ref = await this.evidence.put(input.bytes, input.class, input.mime);
    this.counters.inc('evidence_stored_total', { class: input.class });
    return ref;
  }

  /** Deletes evidence past its class's retention; counted per class. */
  async sweepEvidence(): Promise<void> {
    const deleted = await this.evidence.sweep();
    for (const [cls, n] of Object.entries(deleted)) this.counters.inc('evidence_expired_total', { class: cls }, n);
    if (Object.keys(deleted).length) this.log.info({ deleted }, 'expired evidence deleted');
  }

  health(): Health {
    const problems: string[] = [];
    if (this.cluster && !this.cluster.reachable)
      problems.push("the HA pair's redis is unreachable: alarms get no PUBACK (devices resend them) and no node leads until it is back");
    // In an HA pair only the leader holds the uplink: the other node's is down by design.
    if (this.uplink && !this.uplink.connected && (!this.cluster || this.cluster.leader))
      problems.push('uplink to the central platform is down');
    const series = this.sink.stats();
    if (series.dropped > 0) problems.push(`${series.dropped} series lines dropped`);
    const outbox = this.outbox.stats();
    const dropped = outbox.dropped.full + outbox.dropped.expired;
    if (dropped > 0) problems.push(`${dropped} incident messages dropped from the outbox`);
    return {
      status: problems.length ? 'degraded' : 'ok',
      gatewayId: this.config.gateway.id,
      grid: this.config.gateway.grid,
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      broker: { connectedClients: this.broker.connectedClients },
      uplink: { configured: Boolean(this.uplink), connected: this.uplink?.connected ?? false },
      series: { sink: this.sink.name, ...series },
      incidents: { active: this.incidents.activeIncidents().length },
      outbox: { pending: outbox.pending, oldestAgeSeconds: Math.round(outbox.oldestAgeMs / 1000), lastSeq: outbox.lastSeq, dropped },
      ...(this.cluster && this.config.cluster ? { cluster: { node: this.config.cluster.node, leader: this.cluster.leader } } : {}),
      problems,
    };
  }

  /** Stops taking device traffic first, then drains what is in flight to its destinations. */
  async stop(): Promise<void> {
    await this.api?.close();
    await this.cameras.stop();
    await this.vision.stop();
    await this.broker.stop();
    await this.recovery?.stop();
    await this.sink.close();
    if (this.sink !== this.spool) await this.spool.close();
    await this.uplink?.stop();
    clearInterval(this.expiry);
    clearInterval(this.deadlines);
    clearInterval(this.sweeper);
    clearInterval(this.heartbeatTimer);
    this.deviceCommands.stop();
    for (const k of this.kinds) await k.runtime.stop?.();
    await this.outbox.close();
    await this.cluster?.stop();
    this.log.info('gateway stopped');
  }
}
