/**
 * The composition root: one gateway process, built from one config. Each stage is created here
 * and wired to the next; start and stop run in dependency order so nothing is dropped between.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { deviceTopics } from '../broker/acl.js';
import { DeviceBroker, type RegisteredDevice } from '../broker/broker.js';
import type { DeviceInfo, DeviceKind, KindContext, KindRuntime } from '../devices/types.js';
import { deviceOptionProblems } from './config/load.js';
import { loadProvisioned, provisionedFile } from './devices/provisioned.js';
import { deviceKinds } from '../devices/registry.js';
import { startApi, type Health } from './api/server.js';
import type { Config } from './config/schema.js';
import { IncidentManager } from './incidents/manager.js';
import type { IncidentMessage } from './incidents/schema.js';
import { DEFAULT_LANES, laneOf } from './outbox/lanes.js';
import { Outbox } from './outbox/outbox.js';
import type { Logger } from './log.js';
import { DeviceCommands } from './device-commands.js';
import { HeartbeatMonitor } from './heartbeats.js';
import { withOverrides } from './incidents/categories.js';
import { Pipeline } from './pipeline.js';
import { RejectionLog } from './rejections.js';
import { Counters } from './stats.js';
import { evidenceUrl } from './evidence/links.js';
import { linkSecret } from './evidence/secret.js';
import { EvidenceStore } from './evidence/store.js';
import { InfluxSink, routeInfluxClientLogs } from './timeseries/influx.js';
import type { SeriesSink } from './timeseries/sink.js';
import { SpoolRecovery } from './timeseries/recovery.js';
import { SpoolSink } from './timeseries/spool.js';
import { CommandHandler } from './uplink/commands.js';
import { Uplink } from './uplink/uplink.js';
import { VERSION } from './version.js';

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

function kindOf(name: string): DeviceKind {
  const kind = deviceKinds.get(name);
  if (!kind) throw new Error(`unknown device kind '${name}' (known: ${[...deviceKinds.keys()].join(', ')})`);
  return kind;
}

function deviceInfo(d: { id: string; kind: string; grid: string; name?: string; location?: { lat: number; lon: number } }): DeviceInfo {
  return { id: d.id, kind: d.kind, grid: d.grid, ...(d.name ? { name: d.name } : {}), ...(d.location ? { location: d.location } : {}) };
}

export interface GatewayPorts {
  broker: number;
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
  readonly heartbeats: HeartbeatMonitor;
  private readonly kinds: Array<{ kind: string; runtime: KindRuntime }>;
  private readonly deviceCommands: DeviceCommands;
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
    const lanes = { ...DEFAULT_LANES, ...config.outbox.lanes };
    const laneFor = (category: string) => laneOf(category, lanes);
    this.outbox = new Outbox({
      dir: path.join(config.dataDir, 'outbox'),
      lanes: laneFor,
      maxBytes: config.outbox.maxBytes,
      maxAgeMs: config.outbox.maxAgeHours * 3600_000,
      onDrop: (entry, reason) => {
        this.counters.inc('outbox_dropped_total', { lane: String(entry.lane), reason });
        incidentLog.error({ seq: entry.seq, id: entry.message.id, category: entry.message.category, lane: entry.lane, reason }, 'incident message dropped from the outbox (lowest lane, oldest first)');
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
        const ref = await this.evidence.put(input.bytes, input.class, input.mime);
        this.counters.inc('evidence_stored_total', { class: input.class });
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
      onListenerError: (err) => incidentLog.error({ err: (err as Error).message }, 'incident listener failed'),
    });
    this.incidents.onMessage((m) => {
      this.counters.inc('incident_messages_total', { category: m.category, type: m.type });
      incidentLog.info({ id: m.id, seq: m.seq, type: m.type, category: m.category, status: m.status, grid: m.grid, count: m.count }, 'incident');
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
      if (!config.upstream.commandSecret) log.warn('upstream.commandSecret is not set: platform commands (ack, dispatch, resolve, close) will be refused');
    }

    const devices = registeredDevices(config);
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
      storeEvidence: async (input) => {
        const ref = await this.evidence.put(input.bytes, input.class, input.mime);
        this.counters.inc('evidence_stored_total', { class: input.class });
        return ref.sha256;
      },
      reject: (deviceId, channel, reason, detail, payload) =>
        this.rejections.record(deviceId, devices.find((d) => d.info.id === deviceId)?.kind.kind ?? 'unknown', channel, reason, detail, payload),
      digestHA1: (deviceId, realm) => {
        const d = devices.find((x) => x.info.id === deviceId);
        if (d?.secret !== undefined) return createHash('md5').update(`${deviceId}:${realm}:${d.secret}`).digest('hex');
        return d?.digest?.realm === realm ? d.digest.ha1 : undefined;
      },
    };
    this.kinds = [...deviceKinds.values()].map((k) => ({ kind: k.kind, runtime: k.start(settings[k.kind] ?? {}, kindContext) }));
    const rules = new Map(this.kinds.map((k) => [k.kind, k.runtime.rules]));
    this.rejections = new RejectionLog(this.counters, log.child({ component: 'ingest' }));
    this.heartbeats = new HeartbeatMonitor(
      devices.map((d) => ({
        info: d.info,
        ...(d.heartbeatSeconds ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
        ...(d.kind.offlineCategory ? { category: d.kind.offlineCategory } : {}),
      })),
      this.incidents,
    );
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
    });
    this.broker = new DeviceBroker({
      host: config.broker.host,
      port: config.broker.port,
      brokerId: `gridedge-${gateway.id}`,
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
    this.uplink?.start();
    this.expiry = setInterval(() => this.outbox.expire(this.uplink?.inFlight), 60_000);
    this.expiry.unref();
    this.deadlines = setInterval(() => this.incidents.checkDeadlines(), 10_000);
    this.deadlines.unref();
    this.recovery?.start();
    this.heartbeatTimer = setInterval(() => this.heartbeats.check(), 5000);
    this.heartbeatTimer.unref();
    this.sweeper = setInterval(() => void this.sweepEvidence(), this.config.evidence.sweepIntervalMinutes * 60_000);
    this.sweeper.unref();
    const broker = await this.broker.start();
    try {
      const { app, port } = await startApi({
        host: this.config.api.host,
        port: this.config.api.port,
        log: this.log,
        health: () => this.health(),
        evidence: { store: this.evidence, secret: this.linkSecret },
        routes: this.kinds.flatMap((k) => k.runtime.routes ?? []),
        tokens: this.config.api.tokens.map((t) => ({ name: t.name, token: t.token ?? '', role: t.role })),
      });
      this.api = app;
      if (!this.config.api.publicUrl) this.publicUrl = `http://${this.config.api.host}:${port}`;
      this.log.info({ gatewayId: this.config.gateway.id, grid: this.config.gateway.grid, broker, api: port, series: this.sink.name, devices: this.config.devices.length }, 'gateway started');
      return { broker, api: port };
    } catch (err) {
      await this.broker.stop();
      await this.uplink?.stop();
      await this.outbox.close();
      clearInterval(this.expiry);
      clearInterval(this.deadlines);
      clearInterval(this.sweeper);
      clearInterval(this.heartbeatTimer);
      throw err;
    }
  }

  /** Deletes evidence past its class's retention; counted per class. */
  async sweepEvidence(): Promise<void> {
    const deleted = await this.evidence.sweep();
    for (const [cls, n] of Object.entries(deleted)) this.counters.inc('evidence_expired_total', { class: cls }, n);
    if (Object.keys(deleted).length) this.log.info({ deleted }, 'expired evidence deleted');
  }

  health(): Health {
    const problems: string[] = [];
    if (this.uplink && !this.uplink.connected) problems.push('uplink to the central platform is down');
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
      problems,
    };
  }

  /** Stops taking device traffic first, then drains what is in flight to its destinations. */
  async stop(): Promise<void> {
    await this.api?.close();
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
    this.log.info('gateway stopped');
  }
}
