/**
 * Devices that reach the gateway through a source, in a scenario's fleet: NB-IoT smoke alarms on
 * China Telecom's CTWing (`kind: ctwing-smoke`, the platform pushing their reports to the
 * gateway's push URL) and Milesight GS101 gas detectors on LoRaWAN (`kind: chirpstack-gs101`,
 * ChirpStack's MQTT integration publishing their frames on the site's broker, and the detector
 * answering a valve downlink with its valve's new state as the real one does).
 *
 * The gateway knows them as ordinary devices of their kinds with a `source:` (printed by
 * `gridedge sim --scenario … --print-devices`, with the `sources:` section): their external ids
 * (IMEI, DevEUI) are derived from the scenario's device ids, so the same file always gives the
 * same ones.
 */
import { createHash } from 'node:crypto';
import { type Args, num } from '../sim-kind.js';
import { SimulatedChirpstack } from './chirpstack.js';
import { SimulatedCtwing } from './ctwing.js';

interface FleetLike {
  idPrefix: string;
  count: number;
  secret: string;
  options?: Record<string, unknown>;
}

interface DeviceSpec {
  id: string;
  grid: string;
  secret: string;
  options: Record<string, unknown>;
}

/** One running sourced device of a scenario. */
export interface SourcedSim {
  start(): Promise<void>;
  stop(): Promise<void>;
  reading(): Promise<void>;
  battery?: number;
}

export interface SourceFleetKind {
  /** The scenario's name for it (`fleet[].kind`). */
  kind: string;
  /** The gateway's kind these devices are. */
  gatewayKind: string;
  source: string;
  model: string;
  problems(f: FleetLike): string[];
  /** The device's id at its source (IMEI, DevEUI). */
  externalId(id: string): string;
  /** The gateway's `sources.<source>` section for these devices. */
  sourceSection(first: DeviceSpec): Record<string, unknown>;
  create(d: DeviceSpec): SourcedSim;
  actions: Record<string, (sim: SourcedSim, args: Args) => Promise<void>>;
}

const digits = (id: string, n: number) =>
  BigInt(`0x${createHash('sha256').update(id).digest('hex').slice(0, 16)}`)
    .toString()
    .padStart(n, '0')
    .slice(-n);

function urlProblem(o: Record<string, unknown>, key: string, schemes: string[], what: string): string[] {
  const v = o[key];
  if (typeof v !== 'string') return [`options.${key}: ${what}`];
  try {
    const u = new URL(v);
    if (!schemes.includes(u.protocol)) return [`options.${key}: "${v}" is not a ${schemes.join(' or ')} URL (${what})`];
  } catch {
    return [`options.${key}: "${v}" is not a URL (${what})`];
  }
  return [];
}

// ---- CTWing NB-IoT smoke alarms ----------------------------------------------------------

class CtwingSmoke implements SourcedSim {
  battery: number;
  private readonly platform: SimulatedCtwing;
  private readonly device: { imei: string };

  constructor(d: DeviceSpec) {
    const base = String(d.options.api).replace(/\/$/, '');
    this.platform = new SimulatedCtwing(`${base}/push/ctwing?token=${encodeURIComponent(d.secret)}`);
    this.device = { imei: ctwingSmoke.externalId(d.id) };
    this.battery = num(d.options, 'battery', 95);
  }

  async start(): Promise<void> {
    await this.platform.online(this.device, true);
  }

  async stop(): Promise<void> {}

  async reading(): Promise<void> {
    await this.platform.report(this.device, { smoke_state: 0, battery_value: Math.round(this.battery) });
  }

  async report(properties: Record<string, unknown>): Promise<void> {
    const status = await this.platform.report(this.device, properties);
    if (status !== 200) throw new Error(`the gateway answered CTWing's push ${status}`);
  }

  online(on: boolean): Promise<number> {
    return this.platform.online(this.device, on);
  }
}

export const ctwingSmoke: SourceFleetKind = {
  kind: 'ctwing-smoke',
  gatewayKind: 'smoke-alarm',
  source: 'ctwing',
  model: 'ctwing-smoke',
  problems(f) {
    const out = urlProblem(f.options ?? {}, 'api', ['http:', 'https:'], "the gateway's API, where CTWing pushes (…/push/ctwing)");
    if (!/^[A-Za-z0-9_.~-]{16,128}$/.test(f.secret))
      out.push('secret: the push URL token (16 to 128 of A-Z a-z 0-9 _ . ~ -), sources.ctwing.token at the gateway');
    return out;
  },
  // 15 digits, as an IMEI: 86 (the TAC's reporting body for China), then digits of the id.
  externalId: (id) => `86${digits(`imei:${id}`, 13)}`,
  sourceSection: (first) => ({ token: first.secret }),
  create: (d) => new CtwingSmoke(d),
  actions: {
    alarm: (s) => (s as CtwingSmoke).report({ smoke_state: 1 }),
    clear: (s) => (s as CtwingSmoke).report({ smoke_state: 0 }),
    low_battery: async (s, a) => {
      const sim = s as CtwingSmoke;
      sim.battery = num(a, 'battery', 10);
      await sim.report({ battery_value: Math.round(sim.battery) });
    },
    /** The platform's deviceOnlineOfflineReport: offline now, online again after `seconds` (when given). */
    offline: async (s, a) => {
      const sim = s as CtwingSmoke;
      await sim.online(false);
      if (typeof a.seconds === 'number') setTimeout(() => void sim.online(true).catch(() => undefined), a.seconds * 1000).unref();
    },
    online: async (s) => void (await (s as CtwingSmoke).online(true)),
  },
};

// ---- LoRaWAN GS101 gas detectors through ChirpStack -----------------------------------------

/** One ChirpStack integration per site broker and application, shared by the fleet's devices. */
const integrations = new Map<string, { sim: Promise<SimulatedChirpstack>; users: number }>();

async function integration(broker: string, applicationId: string): Promise<SimulatedChirpstack> {
  const key = `${broker}|${applicationId}`;
  let entry = integrations.get(key);
  if (!entry) {
    entry = { sim: SimulatedChirpstack.connect(broker, applicationId), users: 0 };
    integrations.set(key, entry);
  }
  entry.users++;
  return entry.sim;
}

async function release(broker: string, applicationId: string): Promise<void> {
  const key = `${broker}|${applicationId}`;
  const entry = integrations.get(key);
  if (!entry || --entry.users > 0) return;
  integrations.delete(key);
  await (await entry.sim).close();
}

const APPLICATION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class Gs101 implements SourcedSim {
  private lora?: SimulatedChirpstack;
  private readonly devEui: string;
  private gas = 0;
  valve = 1;
  private unsubscribe?: () => void;

  constructor(private readonly d: DeviceSpec) {
    this.devEui = chirpstackGs101.externalId(d.id);
  }

  private get broker(): string {
    return this.d.options.broker as string;
  }

  private get application(): string {
    return applicationOf(this.d.options);
  }

  async start(): Promise<void> {
    this.lora = await integration(this.broker, this.application);
    // The detector shuts its valve on the downlink Milesight documents (06 00 00 FF) and reports it.
    this.unsubscribe = this.lora.onDownlink((down) => {
      if (down.devEui !== this.devEui || down.fPort !== 85 || down.data.toString('hex') !== '060000ff') return;
      this.valve = 0;
      void this.uplink(Buffer.from([0x06, 0x01, 0x00])).catch(() => undefined);
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.lora) await release(this.broker, this.application);
    this.lora = undefined;
  }

  uplink(frame: Buffer): Promise<void> {
    return this.lora!.uplink({ devEui: this.devEui, name: this.d.id, profile: 'GS101' }, frame);
  }

  async reading(): Promise<void> {
    await this.status(this.gas);
  }

  status(gas: number): Promise<void> {
    this.gas = gas;
    return this.uplink(Buffer.from([0x05, 0x8e, gas, 0x06, 0x01, this.valve]));
  }
}

function applicationOf(o: Record<string, unknown>): string {
  return typeof o.applicationId === 'string' ? o.applicationId : '6b3d3c2e-51f0-4c3a-9a55-5f0c0a1e2b01';
}

export const chirpstackGs101: SourceFleetKind = {
  kind: 'chirpstack-gs101',
  gatewayKind: 'gas-sensor',
  source: 'chirpstack',
  model: 'milesight-gs101',
  problems(f) {
    const o = f.options ?? {};
    const out = urlProblem(o, 'broker', ['mqtt:', 'mqtts:'], "the site's ChirpStack MQTT broker");
    if (o.applicationId !== undefined && !(typeof o.applicationId === 'string' && APPLICATION.test(o.applicationId)))
      out.push("options.applicationId: ChirpStack's application UUID (lower case)");
    return out;
  },
  // A DevEUI under Milesight's OUI (24e124), the rest from the id.
  externalId: (id) => `24e124${createHash('sha256').update(`deveui:${id}`).digest('hex').slice(0, 10)}`,
  sourceSection: (first) => ({ url: first.options.broker, applicationId: applicationOf(first.options) }),
  create: (d) => new Gs101(d),
  actions: {
    /** Gas detected (the GS101 reports alarm or normal, not a concentration). */
    leak: (s) => (s as Gs101).status(1),
    clear: (s) => (s as Gs101).status(0),
    /** The sensor reports its failure (alarm code 2). */
    fault: (s) => (s as Gs101).uplink(Buffer.from([0xff, 0x3f, 0x02])),
  },
};

export const SOURCE_FLEET_KINDS: Record<string, SourceFleetKind> = Object.fromEntries(
  [ctwingSmoke, chirpstackGs101].map((k) => [k.kind, k]),
);

/** The gateway's `devices:` entries and `sources:` section for a scenario's sourced devices. */
export function sourcedGatewayConfig(devices: Array<DeviceSpec & { kind: string }>) {
  const sourced = devices.filter((d) => SOURCE_FLEET_KINDS[d.kind]);
  const sources: Record<string, Record<string, unknown>> = {};
  for (const d of sourced) {
    const k = SOURCE_FLEET_KINDS[d.kind]!;
    sources[k.source] ??= k.sourceSection(d);
  }
  return {
    devices: sourced.map((d) => {
      const k = SOURCE_FLEET_KINDS[d.kind]!;
      const { api: _a, broker: _b, applicationId: _c, battery: _d, ...options } = d.options;
      return {
        id: d.id,
        kind: k.gatewayKind,
        grid: d.grid,
        source: { type: k.source, id: k.externalId(d.id), model: k.model },
        ...(Object.keys(options).length ? { options } : {}),
      };
    }),
    sources,
  };
}
