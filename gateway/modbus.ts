/**
 * Modbus controllers polled with modbus-serial (sources.modbus): one TCP connection per
 * controller, reconnected with backoff; every `pollSeconds` each device model's register block
 * is read once and each channel's device decoded from it. Timeouts, refused reads and
 * reconnects are counted; `offlineAfterFailures` polls in a row without an answer make the
 * controller's devices unreachable (their `device.offline`); its next answer brings them back.
 * A model's command (a valve to close) is a coil write, answered to the kind as its reply.
 */
import modbusSerial from 'modbus-serial';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import type { Counters } from '../core/counters.js';
import type { Logger } from '../core/log.js';
import type { DeviceModel, KindMessage } from '../devices/models/types.js';
import type { ModbusController, ModbusSettings } from '../devices/sources/modbus.js';

/** The client class: the package's CommonJS export (its typings declare it as the default export). */
const ModbusRTU = modbusSerial as unknown as new () => ModbusClient;

export interface ModbusChannel {
  deviceId: string;
  channel: number;
  model: DeviceModel;
}

export interface ModbusHooks {
  /** A channel's decoded messages. */
  messages(deviceId: string, out: KindMessage[]): void;
  /** A channel's registers the model refused. */
  refused(deviceId: string, reason: string): void;
  /** The controller answers again (true), or has not for offlineAfterFailures polls (false). */
  reachable(deviceIds: string[], up: boolean): void;
}

class Poller {
  private client = new ModbusRTU();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private down = false;
  private busy: Promise<unknown> = Promise.resolve();
  connected = false;
  polls = 0;
  timeouts = 0;

  constructor(
    readonly controller: ModbusController,
    private readonly channels: ModbusChannel[],
    private readonly settings: ModbusSettings,
    private readonly hooks: ModbusHooks,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.busy = this.tick().finally(() => this.schedule(this.controller.pollSeconds * 1000));
    }, ms);
    this.timer.unref();
  }

  private async connect(): Promise<void> {
    if (this.client.isOpen) return;
    this.client = new ModbusRTU();
    await this.client.connectTCP(this.controller.host, { port: this.controller.port });
    this.client.setID(this.controller.unitId);
    this.client.setTimeout(this.controller.timeoutMs);
    this.connected = true;
    this.counters.inc('modbus_connects_total', { controller: this.controller.id });
  }

  private async tick(): Promise<void> {
    const labels = { controller: this.controller.id };
    this.polls++;
    try {
      await this.connect();
      // One read per model on this controller: every channel of it decodes from the same block.
      const blocks = new Map<DeviceModel, number[]>();
      for (const ch of this.channels) {
        const map = ch.model.modbus;
        if (!map || blocks.has(ch.model)) continue;
        const r =
          map.table === 'input'
            ? await this.client.readInputRegisters(map.address, map.count)
            : await this.client.readHoldingRegisters(map.address, map.count);
        blocks.set(ch.model, r.data);
      }
      this.failures = 0;
      if (this.down) {
        this.down = false;
        this.hooks.reachable(
          this.channels.map((c) => c.deviceId),
          true,
        );
      }
      const ts = Date.now();
      for (const ch of this.channels) {
        const registers = blocks.get(ch.model);
        if (!registers) continue;
        try {
          this.hooks.messages(ch.deviceId, ch.model.decode({ registers, channel: ch.channel, ts }));
        } catch (err) {
          this.hooks.refused(ch.deviceId, `${ch.model.model}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      const e = err as { name?: string; message?: string; errno?: string };
      const timeout = e.name === 'TransactionTimedOutError' || /timed out/i.test(e.message ?? '');
      if (timeout) this.timeouts++;
      this.counters.inc('modbus_errors_total', { ...labels, kind: timeout ? 'timeout' : 'connection' });
      if (this.failures === 0 || this.failures % 20 === 0)
        this.log.warn({ controller: this.controller.id, host: this.controller.host, err: e.message }, 'modbus poll failed');
      this.failures++;
      // A broken connection is opened again on the next poll.
      if (!timeout) this.close();
      if (!this.down && this.failures >= this.settings.offlineAfterFailures) {
        this.down = true;
        this.hooks.reachable(
          this.channels.map((c) => c.deviceId),
          false,
        );
      }
    }
  }

  /** Writes one coil (between polls: one request at a time on the connection). */
  async writeCoil(address: number, value: boolean): Promise<void> {
    const run = this.busy.then(async () => {
      await this.connect();
      await this.client.writeCoil(address, value);
    });
    this.busy = run.catch(() => undefined);
    await run;
    this.counters.inc('modbus_writes_total', { controller: this.controller.id });
  }

  private close(): void {
    this.connected = false;
    try {
      this.client.close(() => undefined);
    } catch {
      /* already closed */
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy.catch(() => undefined);
    this.close();
  }
}

export class ModbusPollers {
  private readonly pollers = new Map<string, Poller>();

  constructor(
    settings: ModbusSettings,
    channels: Array<ModbusChannel & { controller: string }>,
    hooks: ModbusHooks,
    counters: Counters,
    log: Logger,
  ) {
    for (const c of settings.controllers) {
      const mine = channels.filter((ch) => ch.controller === c.id);
      if (mine.length) this.pollers.set(c.id, new Poller(c, mine, settings, hooks, counters, log.child({ controller: c.id })));
    }
  }

  start(): void {
    for (const p of this.pollers.values()) p.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pollers.values()].map((p) => p.stop()));
  }

  writeCoil(controller: string, address: number, value: boolean): Promise<void> {
    const p = this.pollers.get(controller);
    if (!p) return Promise.reject(new Error(`no controller ${controller}`));
    return p.writeCoil(address, value);
  }

  health(): Array<{ controller: string; connected: boolean; polls: number; timeouts: number }> {
    return [...this.pollers.values()].map((p) => ({
      controller: p.controller.id,
      connected: p.connected,
      polls: p.polls,
      timeouts: p.timeouts,
    }));
  }
}
