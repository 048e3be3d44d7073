/**
 * The configured sources at run time: one MQTT connection per source (zigbee2mqtt's broker,
 * ChirpStack's), each message parsed by its source, routed by external id to the device the
 * config names, decoded by the device's model into its kind's own messages, and handed to the
 * pipeline as if the device had published them: the kind's codec, rules, incidents and series
 * apply unchanged. A message the model cannot read is refused and kept in the device's
 * rejections; one of an unknown device is counted and listed for adoption; nothing one device
 * sends blocks another's. A kind's command to such a device (a valve to shut) goes down as the
 * model's downlink. When a source's broker is gone for `offlineAfterSeconds`, its devices are
 * reported offline through their kinds' status channel.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceSession } from '../broker/broker.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import { maskUrl } from '../core/secrets.js';
import { modelsByName } from '../devices/models/registry.js';
import { type DeviceModel, ModelDecodeError } from '../devices/models/types.js';
import { pushSourcesByName, sourcesByName } from '../devices/sources/registry.js';
import type { PushRequest, PushResult, PushSourceDefinition, SourceDefinition, SourceEvent } from '../devices/sources/types.js';
import type { Config } from './config/schema.js';
import { type ModbusChannel, ModbusPollers } from './modbus.js';
import { CtwingPoller } from './ctwing-poll.js';
import { OnenetPoller } from './onenet-poll.js';
import { modbusAddress } from '../devices/sources/modbus.js';
import type { DeviceInfo } from '../devices/types.js';
import type { GatewayDevice } from './devices/directory.js';
import type { Pipeline } from './pipeline.js';
import type { RejectionLog } from './rejections.js';
import type { Service } from './services.js';

type SourceRef = NonNullable<Config['devices'][number]['source']>;

interface Bound {
  device: GatewayDevice;
  model: DeviceModel;
  source: SourceRef;
  /** What the source last said a downlink needs (ChirpStack: the application). */
  route?: string;
  /**
   * The id of a valve_close sent down and not yet seen done. A LoRaWAN or Zigbee device does
   * not answer a command; it reports its state, so its next report of the valve closed is the
   * kind's reply to that command (and the kind's timeout stands when no such report comes).
   */
  valveClosing?: string;
}

export interface SourceHealth {
  source: string;
  url: string;
  connected: boolean;
  devices: number;
  messages: number;
  refused: number;
  /** External ids that sent data but are in no device's `source`. */
  unknown: string[];
  /** What the source offers (zigbee2mqtt bridge/devices), marked when a device already has it. */
  inventory: Array<{ externalId: string; model?: string; vendor?: string; adopted: boolean; suggested?: string }>;
}

type AnySource = SourceDefinition<never> | PushSourceDefinition<never>;

class RunningSource {
  client?: MqttClient;
  readonly byId = new Map<string, Bound>();
  readonly aliases = new Map<string, string>();
  messages = 0;
  refused = 0;
  readonly unknown = new Set<string>();
  inventory: SourceHealth['inventory'] = [];
  private offlineTimer?: NodeJS.Timeout;
  private reportedOffline = false;

  /** Keys of pushed messages already taken (a platform's retries), oldest first. */
  readonly seen = new Set<string>();
  lastPushAt?: number;

  constructor(
    readonly def: AnySource,
    readonly settings: Record<string, unknown>,
    private readonly owner: Sources,
  ) {}

  get mqtt(): SourceDefinition<never> | undefined {
    return 'subscriptions' in this.def ? this.def : undefined;
  }

  bound(externalId: string): Bound | undefined {
    const id = externalId.toLowerCase();
    return this.byId.get(id) ?? this.byId.get(this.aliases.get(id) ?? '');
  }

  start(clientId: string): void {
    const def = this.mqtt;
    if (!def) return; // a push source is served by the API
    const s = this.settings as { url: string; username?: string; password?: string };
    const log = this.owner.log.child({ source: this.def.name });
    const client = mqtt.connect(s.url, {
      clientId,
      ...(s.username ? { username: s.username } : {}),
      ...(s.password ? { password: s.password } : {}),
      clean: true,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    client.on('connect', () => {
      this.owner.counters.inc('source_connects_total', { source: this.def.name });
      log.info({ url: maskUrl(s.url) }, 'source connected');
      if (this.offlineTimer) clearTimeout(this.offlineTimer);
      this.offlineTimer = undefined;
      this.reportedOffline = false;
      client.subscribe(def.subscriptions(this.settings as never), { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message }, 'cannot subscribe to the source');
      });
    });
    client.on('message', (topic, payload) => this.owner.onMessage(this, topic, payload));
    client.on('offline', () => {
      log.warn({ url: maskUrl(s.url) }, 'source unreachable; its devices wait');
      const after = ((this.settings as { offlineAfterSeconds?: number }).offlineAfterSeconds ?? 60) * 1000;
      this.offlineTimer ??= setTimeout(() => this.reportOffline(), after);
      this.offlineTimer.unref();
    });
    client.on('error', (err) => {
      this.owner.counters.inc('source_errors_total', { source: this.def.name });
      log.debug({ err: err.message }, 'source connection error');
    });
    this.client = client;
  }

  /** The source itself is gone: every device it brings is offline, as its kind's status says it. */
  private reportOffline(): void {
    if (this.reportedOffline || this.client?.connected) return;
    this.reportedOffline = true;
    for (const b of new Set(this.byId.values())) this.owner.status(b, false, `${this.def.name} is unreachable`);
  }

  async stop(): Promise<void> {
    if (this.offlineTimer) clearTimeout(this.offlineTimer);
    await this.client?.endAsync(true).catch(() => undefined);
  }
}

export interface SourcesOptions {
  config: Config;
  devices: () => GatewayDevice[];
  pipeline: Pipeline;
  session: (deviceId: string) => DeviceSession | undefined;
  rejections: RejectionLog;
  /** Raises the device's offline incident now (heartbeats.unreachable). */
  unreachable: (device: DeviceInfo, reason: string) => void;
  counters: Counters;
  log: Logger;
}

export class Sources implements Service {
  readonly name = 'sources';
  private readonly running = new Map<string, RunningSource>();
  /** Modbus controllers, polled (sources.modbus). */
  private readonly modbus?: ModbusPollers;
  private readonly modbusBound = new Map<string, { bound: Bound; controller: string }>();
  /** OneNET's API, polled where its push cannot reach (sources.onenet.poll). */
  private readonly onenetPoll?: OnenetPoller;
  /** CTWing's API, polled where its push cannot reach (sources.ctwing.poll). */
  private readonly ctwingPoll?: CtwingPoller;

  constructor(private readonly opts: SourcesOptions) {
    const sections = opts.config.sources as Record<string, Record<string, unknown> | undefined>;
    for (const [name, settings] of Object.entries(sections)) {
      const def = sourcesByName.get(name) ?? pushSourcesByName.get(name);
      if (!def || !settings) continue;
      this.running.set(name, new RunningSource(def, settings, this));
    }
    this.bind();
    const onenet = this.running.get('onenet');
    const poll = opts.config.sources.onenet?.poll;
    if (onenet && poll?.apiKey) {
      this.onenetPoll = new OnenetPoller(
        { ...poll, apiKey: poll.apiKey },
        () => [...onenet.byId.values()].map((b) => b.source.id),
        (ev) => this.take(onenet, ev, Buffer.alloc(0)),
        opts.counters,
        opts.log.child({ source: 'onenet' }),
      );
    }
    const ctwing = this.running.get('ctwing');
    const ctPoll = opts.config.sources.ctwing?.poll;
    if (ctwing && ctPoll?.appSecret) {
      this.ctwingPoll = new CtwingPoller(
        { ...ctPoll, appSecret: ctPoll.appSecret },
        () => [...new Set(ctwing.byId.values())].map((b) => b.source.id),
        (ev) => this.take(ctwing, ev, Buffer.alloc(0)),
        opts.counters,
        opts.log.child({ source: 'ctwing' }),
      );
    }
    const modbus = opts.config.sources.modbus;
    if (modbus) {
      const channels: Array<ModbusChannel & { controller: string }> = [];
      for (const d of opts.config.devices) {
        if (d.source?.type !== 'modbus') continue;
        const at = modbusAddress(d.source.id);
        const model = modelsByName.get(d.source.model);
        const device = opts.devices().find((x) => x.info.id === d.id);
        if (!at || !model || !device) continue;
        channels.push({ deviceId: d.id, channel: at.channel, model, controller: at.controller });
        this.modbusBound.set(d.id, { bound: { device, model, source: d.source }, controller: at.controller });
      }
      const bound = (id: string) => this.modbusBound.get(id)?.bound;
      this.modbus = new ModbusPollers(
        modbus,
        channels,
        {
          messages: (id, out) => {
            const b = bound(id);
            if (b) for (const m of out) this.feed(b, m.channel, m.payload);
          },
          refused: (id, reason) => {
            const b = bound(id);
            opts.counters.inc('source_refused_total', { source: 'modbus' });
            if (b) opts.rejections.record(id, b.device.kind.kind, 'modbus', 'codec_error', reason, Buffer.alloc(0));
          },
          reachable: (ids, up) => {
            for (const id of ids) {
              const b = bound(id);
              if (b) this.status(b, up, 'its Modbus controller does not answer');
            }
          },
        },
        opts.counters,
        opts.log.child({ source: 'modbus' }),
      );
    }
  }

  get counters(): Counters {
    return this.opts.counters;
  }

  get log(): Logger {
    return this.opts.log;
  }

  /** Maps each configured device with a `source` onto its running source. */
  private bind(): void {
    for (const r of this.running.values()) r.byId.clear();
    const refs = new Map(this.opts.config.devices.flatMap((d) => (d.source ? [[d.id, d.source] as const] : [])));
    for (const device of this.opts.devices()) {
      const src = refs.get(device.info.id);
      if (!src) continue;
      const r = this.running.get(src.type);
      const model = modelsByName.get(src.model);
      if (r && model) r.byId.set(src.id.toLowerCase(), { device, model, source: src });
    }
  }

  start(): void {
    for (const [name, r] of this.running) r.start(`gridedge-${this.opts.config.gateway.id}-${name}`);
    this.modbus?.start();
    this.onenetPoll?.start();
    this.ctwingPoll?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    await this.modbus?.stop();
    await this.onenetPoll?.stop();
    await this.ctwingPoll?.stop();
  }

  /** Whether `deviceId` comes through a source (its commands go down through it). */
  owns(deviceId: string): boolean {
    return (
      this.modbusBound.has(deviceId) ||
      [...this.running.values()].some((r) => [...r.byId.values()].some((b) => b.device.info.id === deviceId))
    );
  }

  /** A command to a Modbus channel: the model's coil write, then the kind's reply with the command's id. */
  private async modbusCommand(deviceId: string, command: Record<string, unknown>): Promise<boolean> {
    const m = this.modbusBound.get(deviceId)!;
    const down = m.bound.model.encode?.(command);
    if (!down?.coil || !this.modbus) {
      this.opts.counters.inc('source_commands_unsent_total', { source: 'modbus' });
      return false;
    }
    this.opts.counters.inc('source_commands_total', { source: 'modbus' });
    const id = typeof command.id === 'string' ? command.id : undefined;
    try {
      await this.modbus.writeCoil(m.controller, down.coil.address, down.coil.value);
      // The kind's own reply channel, as a device of its own would answer; the valve is shut.
      if (id) this.feed(m.bound, 'reply', { id, ok: true });
      if (command.cmd === 'valve_close') this.feed(m.bound, 'event', { event: 'valve_closed' });
    } catch (err) {
      if (id) this.feed(m.bound, 'reply', { id, ok: false, detail: `coil write failed: ${(err as Error).message}`.slice(0, 200) });
    }
    return true;
  }

  onMessage(r: RunningSource, topic: string, payload: Buffer): void {
    const source = r.def.name;
    r.messages++;
    this.opts.counters.inc('source_messages_total', { source });
    let ev: SourceEvent;
    try {
      ev = r.mqtt?.parse(topic, payload, r.settings as never) ?? { type: 'ignored' };
    } catch (err) {
      ev = { type: 'refused', reason: `parser error: ${(err as Error).message}` };
    }
    this.dispatch(r, ev, payload, topic);
  }

  /** The push sources the API serves: name → path. */
  pushPaths(): Array<{ source: string; path: string }> {
    return [...this.running.values()].flatMap((r) =>
      'handle' in r.def ? [{ source: r.def.name, path: r.def.path(r.settings as never) }] : [],
    );
  }

  /**
   * One request a platform pushed: checked by the source (its signature), answered at once;
   * each message in it taken once however often the platform sends it again.
   */
  push(name: string, req: PushRequest): { status: number; body: string } {
    const r = this.running.get(name);
    if (!r || !('handle' in r.def)) return { status: 404, body: 'no such source' };
    const { counters, log } = this.opts;
    let result: PushResult;
    try {
      result = r.def.handle(req, r.settings as never);
    } catch (err) {
      result = { status: 400, body: 'unreadable push', events: [], refused: (err as Error).message };
    }
    if (result.refused) {
      r.refused++;
      counters.inc('source_refused_total', { source: name });
      log.warn({ source: name, status: result.status, reason: result.refused }, 'push refused');
      return { status: result.status, body: result.body };
    }
    r.lastPushAt = Date.now();
    result.events.forEach((ev, i) => {
      const key = result.keys?.[i];
      if (key) {
        if (r.seen.has(key)) {
          counters.inc('source_duplicates_total', { source: name });
          return;
        }
        r.seen.add(key);
        if (r.seen.size > 10_000) r.seen.delete(r.seen.values().next().value!);
      }
      this.take(r, ev, req.body);
    });
    return { status: result.status, body: result.body };
  }

  /** One message a platform pushed or a poll read: counted, then dispatched. */
  private take(r: RunningSource, ev: SourceEvent, payload: Buffer): void {
    r.messages++;
    this.opts.counters.inc('source_messages_total', { source: r.def.name });
    this.dispatch(r, ev, payload, '');
  }

  private dispatch(r: RunningSource, ev: SourceEvent, payload: Buffer, topic: string): void {
    const { counters, rejections } = this.opts;
    const source = r.def.name;
    switch (ev.type) {
      case 'ignored':
        return;
      case 'inventory':
        r.aliases.clear();
        for (const d of ev.devices) for (const a of d.aliases) r.aliases.set(a.toLowerCase(), d.externalId.toLowerCase());
        for (const d of ev.devices) for (const a of d.aliases) if (r.byId.has(a)) r.byId.set(d.externalId.toLowerCase(), r.byId.get(a)!);
        r.inventory = ev.devices.map((d) => {
          const suggested = [...modelsByName.values()].find((m) => m.source === source && d.model && m.matches?.includes(d.model));
          return {
            externalId: d.externalId,
            ...(d.model ? { model: d.model } : {}),
            ...(d.vendor ? { vendor: d.vendor } : {}),
            adopted: Boolean(r.bound(d.externalId)),
            ...(suggested ? { suggested: suggested.model } : {}),
          };
        });
        return;
      case 'refused': {
        r.refused++;
        counters.inc('source_refused_total', { source });
        const b = ev.externalId ? r.bound(ev.externalId) : undefined;
        if (b) rejections.record(b.device.info.id, b.device.kind.kind, source, 'schema', ev.reason, payload);
        else this.opts.log.debug({ source, topic: topic.slice(0, 200), reason: ev.reason }, 'source message refused');
        return;
      }
      case 'availability': {
        const b = r.bound(ev.externalId);
        if (b) this.status(b, ev.online, ev.reason ?? `${source} reports it offline`);
        return;
      }
      case 'data': {
        const b = r.bound(ev.externalId);
        if (!b) {
          counters.inc('source_unknown_devices_total', { source });
          if (r.unknown.size < 1000) r.unknown.add(ev.externalId);
          return;
        }
        if (ev.route) b.route = ev.route;
        let messages: ReturnType<DeviceModel['decode']>;
        try {
          messages = b.model.decode(ev.input);
        } catch (err) {
          r.refused++;
          const reason =
            err instanceof ModelDecodeError ? `${b.model.model}: ${err.message}` : `${b.model.model} failed: ${(err as Error).message}`;
          rejections.record(b.device.info.id, b.device.kind.kind, source, 'codec_error', reason, payload);
          return;
        }
        for (const m of messages) {
          this.feed(b, m.channel, m.payload);
          const closed = m.payload.valve === 'closed' || m.payload.event === 'valve_closed';
          if (b.valveClosing && closed) {
            this.feed(b, 'reply', { id: b.valveClosing, ok: true });
            if (m.payload.event !== 'valve_closed') this.feed(b, 'event', { event: 'valve_closed' });
            b.valveClosing = undefined;
          }
        }
        return;
      }
    }
  }

  /** One of the kind's messages into the pipeline, as the device's own publish would go. */
  private feed(b: Bound, channel: string, payload: Record<string, unknown>): void {
    const session = this.opts.session(b.device.info.id);
    if (!session) return;
    const result = this.opts.pipeline.handle(session, channel, Buffer.from(JSON.stringify(payload)), Date.now());
    result?.catch((err: unknown) =>
      this.opts.log.error({ device: b.device.info.id, err: (err as Error).message }, 'source message not stored'),
    );
  }

  /**
   * Online: through the kind's status channel, as the device's own would come (it counts as a
   * sighting and resolves an offline incident). Offline: the device is unreachable now, so its
   * offline incident is raised at once; it is not a sighting.
   */
  status(b: Bound, online: boolean, reason = ''): void {
    this.opts.pipeline.presence(b.device.info, online);
    if (!online) return this.opts.unreachable(b.device.info, reason);
    if (b.device.kind.publishes.status) this.feed(b, 'status', { state: 'online' });
  }

  /**
   * A kind's command to a sourced device: the model's downlink through its source. Resolves
   * false when the device's model has no downlink for it (the command is logged as not sent).
   */
  async command(deviceId: string, payload: Buffer): Promise<boolean> {
    if (this.modbusBound.has(deviceId)) {
      try {
        return await this.modbusCommand(deviceId, JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
      } catch {
        return false;
      }
    }
    for (const r of this.running.values())
      for (const b of r.byId.values()) {
        if (b.device.info.id !== deviceId) continue;
        let command: Record<string, unknown>;
        try {
          command = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
        } catch {
          return false;
        }
        const down = b.model.encode?.(command);
        const external = b.source.id;
        const out = down ? r.mqtt?.downlink?.(external, down, r.settings as never, b.route) : undefined;
        if (!out || !r.client?.connected) {
          this.opts.counters.inc('source_commands_unsent_total', { source: r.def.name });
          return false;
        }
        await r.client.publishAsync(out.topic, out.payload, { qos: 1 });
        this.opts.counters.inc('source_commands_total', { source: r.def.name });
        if (command.cmd === 'valve_close' && typeof command.id === 'string') b.valveClosing = command.id;
        return true;
      }
    return false;
  }

  health(): SourceHealth[] {
    const modbus: SourceHealth[] = this.modbus
      ? [
          {
            source: 'modbus',
            url: this.modbus
              .health()
              .map((c) => `${c.controller}${c.connected ? '' : ' (not connected)'}: ${c.polls} polls, ${c.timeouts} timeouts`)
              .join('; '),
            connected: this.modbus.health().every((c) => c.connected),
            devices: this.modbusBound.size,
            messages: this.modbus.health().reduce((a, c) => a + c.polls, 0),
            refused: this.opts.counters.get('source_refused_total', { source: 'modbus' }),
            unknown: [],
            inventory: [],
          },
        ]
      : [];
    return [
      ...modbus,
      ...[...this.running.values()].map((r) => ({
        source: r.def.name,
        url: r.mqtt
          ? maskUrl((r.settings as { url: string }).url)
          : `push to ${(r.def as PushSourceDefinition<never>).path(r.settings as never)}`,
        // A push source is "connected" while its platform has pushed in the last ten minutes.
        connected: r.mqtt ? (r.client?.connected ?? false) : r.lastPushAt !== undefined && Date.now() - r.lastPushAt < 600_000,
        devices: new Set([...r.byId.values()].map((b) => b.device.info.id)).size,
        messages: r.messages,
        refused: r.refused,
        unknown: [...r.unknown].slice(0, 100),
        inventory: r.inventory.map((i) => ({ ...i, adopted: Boolean(r.bound(i.externalId)) })),
      })),
    ];
  }
}
