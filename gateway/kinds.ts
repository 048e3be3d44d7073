/**
 * The device kinds, started once per gateway from their settings (`kinds.<kind>`): each gives
 * its rules, and may add HTTP routes (GA/T 1400 uploads) and a stop. Kinds start before the
 * broker and the API listen, so a kind that cannot load its files (a registry, a watchlist)
 * stops the gateway before any device connects.
 */
import { deviceKinds } from '../devices/registry.js';
import { deviceTopics } from '../broker/acl.js';
import type { HttpRoute, KindContext, KindRuntime, Rules } from '../devices/types.js';
import type { GatewayDevice } from './devices/directory.js';
import type { Gateway } from './gateway.js';
import type { Service } from './services.js';

export class Kinds implements Service {
  readonly name = 'device kinds';
  /** Each started kind's rules, by kind name: the pipeline reads them for every message. */
  readonly rules = new Map<string, Rules>();
  private runtimes: KindRuntime[] = [];

  constructor(
    private readonly settings: Record<string, Record<string, unknown> | undefined>,
    /** Made when the kinds start: by then every part of the gateway it reaches exists. */
    private readonly context: () => KindContext,
  ) {}

  start(): void {
    const context = this.context();
    for (const kind of deviceKinds.values()) {
      const runtime = kind.start(this.settings[kind.kind] ?? {}, context);
      this.runtimes.push(runtime);
      this.rules.set(kind.kind, runtime.rules);
    }
  }

  /** The routes the started kinds add to the API. */
  routes(): HttpRoute[] {
    return this.runtimes.flatMap((r) => r.routes ?? []);
  }

  async stop(): Promise<void> {
    for (const r of this.runtimes) await r.stop?.();
    this.runtimes = [];
    this.rules.clear();
  }
}

/** What a device kind may use of the gateway: the broker's accounts, the pipeline, evidence, the rejection log. */
export function kindContext(gw: Gateway): KindContext {
  const session = (device: GatewayDevice) => ({
    device: device.info,
    kind: device.kind,
    options: device.options,
    topics: deviceTopics(device.kind, device.info.id),
  });
  return {
    baseDir: gw.config.baseDir,
    timezone: gw.config.gateway.timezone,
    authenticate: async (deviceId, secret) => (await gw.broker.sessionFor(deviceId, secret))?.device,
    ingest: (deviceId, messages) => {
      const device = gw.directory.get(deviceId);
      if (!device) return Promise.reject(new Error(`unknown device ${deviceId}`));
      return gw.pipeline.ingest(session(device), messages, Date.now());
    },
    storeEvidence: async (input) => (await gw.evidenceService.put(input)).sha256,
    reject: (deviceId, channel, reason, detail, payload) =>
      gw.rejections.record(deviceId, gw.directory.get(deviceId)?.kind.kind ?? 'unknown', channel, reason, detail, payload),
    digestHA1: (deviceId, realm) => gw.directory.digestHA1(deviceId, realm),
    log: gw.log.child({ component: 'kinds' }),
    signedOff: (deviceId, reason) => {
      const device = gw.directory.get(deviceId);
      if (device) gw.heartbeats.unreachable(device.info, reason);
    },
  };
}
