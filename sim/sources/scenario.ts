/**
 * Devices that reach the gateway through a source, in a scenario's fleet: NB-IoT smoke alarms on
 * China Telecom's CTWing (`kind: ctwing-smoke`, the platform pushing their reports to the
 * gateway's push URL) and Milesight GS101 gas detectors on LoRaWAN (`kind: chirpstack-gs101`,
 * ChirpStack's MQTT integration publishing their frames on the site's broker, and the detector
 * answering a valve downlink with its valve's new state as the real one does), Heiman HS1SA smoke
 * detectors on Zigbee (`kind: zigbee2mqtt-hs1sa`, a zigbee2mqtt bridge publishing their states
 * and availability on the site's broker), and NB-IoT IPSO smoke alarms on China Mobile's OneNET
 * (`kind: onenet-smoke`, OneNET's signed data push to the gateway's push URL), and the channels of
 * an 8-channel gas alarm controller on Modbus TCP (`kind: modbus-gas`, the gateway polling its
 * registers and writing its valve coil).
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
import { SimulatedGasController } from './modbus.js';
import { SimulatedOnenet } from './onenet.js';
import { SimulatedZigbee2mqtt } from './zigbee2mqtt.js';

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

/** The platform reports the device offline now, and online again after `seconds` (when given). */
async function offlineFor(a: Args, online: (on: boolean) => Promise<unknown>): Promise<void> {
  await online(false);
  if (typeof a.seconds === 'number') setTimeout(() => void online(true).catch(() => undefined), a.seconds * 1000).unref();
}

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
    offline: (s, a) => offlineFor(a, (on) => (s as CtwingSmoke).online(on)),
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

// ---- Zigbee HS1SA smoke detectors through zigbee2mqtt --------------------------------------

/** One zigbee2mqtt bridge per site broker, shared by the fleet's devices (as one coordinator is). */
const bridges = new Map<string, { sim: Promise<SimulatedZigbee2mqtt>; users: number }>();

class Hs1sa implements SourcedSim {
  battery: number;
  private z2m?: SimulatedZigbee2mqtt;
  private smoke = false;
  private tamper = false;

  constructor(private readonly d: DeviceSpec) {
    this.battery = num(d.options, 'battery', 95);
  }

  private get broker(): string {
    return this.d.options.broker as string;
  }

  async start(): Promise<void> {
    let entry = bridges.get(this.broker);
    if (!entry) {
      entry = { sim: SimulatedZigbee2mqtt.connect(this.broker, []), users: 0 };
      bridges.set(this.broker, entry);
    }
    entry.users++;
    this.z2m = await entry.sim;
    this.z2m.devices.push({ friendlyName: this.d.id, ieee: zigbeeHs1sa.externalId(this.d.id), model: 'HS1SA', vendor: 'HEIMAN' });
    await this.z2m.publishDevices();
    await this.z2m.availability(this.d.id, true);
  }

  async stop(): Promise<void> {
    const entry = bridges.get(this.broker);
    this.z2m = undefined;
    if (!entry || --entry.users > 0) return;
    bridges.delete(this.broker);
    await (await entry.sim).close();
  }

  /** The whole state, as zigbee2mqtt publishes it on every change. */
  state(): Promise<void> {
    return this.z2m!.state(this.d.id, {
      smoke: this.smoke,
      battery: Math.round(this.battery),
      battery_low: this.battery < 20,
      tamper: this.tamper,
      linkquality: 120,
    });
  }

  reading(): Promise<void> {
    return this.state();
  }

  set(change: { smoke?: boolean; tamper?: boolean }): Promise<void> {
    if (change.smoke !== undefined) this.smoke = change.smoke;
    if (change.tamper !== undefined) this.tamper = change.tamper;
    return this.state();
  }

  availability(online: boolean): Promise<void> {
    return this.z2m!.availability(this.d.id, online);
  }
}

export const zigbeeHs1sa: SourceFleetKind = {
  kind: 'zigbee2mqtt-hs1sa',
  gatewayKind: 'smoke-alarm',
  source: 'zigbee2mqtt',
  model: 'heiman-hs1sa',
  problems: (f) => urlProblem(f.options ?? {}, 'broker', ['mqtt:', 'mqtts:'], "the site's zigbee2mqtt broker"),
  // An IEEE address (64-bit, 0x + 16 hex) derived from the id; the gateway finds it in bridge/devices.
  externalId: (id) => `0x${createHash('sha256').update(`ieee:${id}`).digest('hex').slice(0, 16)}`,
  sourceSection: (first) => ({ url: first.options.broker }),
  create: (d) => new Hs1sa(d),
  actions: {
    alarm: (s) => (s as Hs1sa).set({ smoke: true }),
    clear: (s) => (s as Hs1sa).set({ smoke: false }),
    tamper: (s) => (s as Hs1sa).set({ tamper: true }),
    low_battery: async (s, a) => {
      const sim = s as Hs1sa;
      sim.battery = num(a, 'battery', 10);
      await sim.state();
    },
    /** zigbee2mqtt marks the device offline (availability), online again after `seconds` (when given). */
    offline: (s, a) => offlineFor(a, (on) => (s as Hs1sa).availability(on)),
    online: (s) => (s as Hs1sa).availability(true),
  },
};

// ---- NB-IoT IPSO smoke alarms through OneNET --------------------------------------------------

class OnenetSmoke implements SourcedSim {
  battery: number;
  private readonly platform: SimulatedOnenet;
  private readonly imei: string;

  constructor(d: DeviceSpec) {
    const base = String(d.options.api).replace(/\/$/, '');
    this.platform = new SimulatedOnenet(`${base}/push/onenet`, d.secret);
    this.imei = onenetSmoke.externalId(d.id);
    this.battery = num(d.options, 'battery', 95);
  }

  async start(): Promise<void> {
    await this.point('3200_0_5500', 0);
  }

  async stop(): Promise<void> {}

  reading(): Promise<void> {
    return this.point('3_0_9', Math.round(this.battery));
  }

  async point(ds: string, value: unknown): Promise<void> {
    const status = await this.platform.push([{ imei: this.imei, ds_id: ds, value }]);
    if (status !== 200) throw new Error(`the gateway answered OneNET's push ${status}`);
  }

  async online(on: boolean): Promise<void> {
    const status = await this.platform.status(this.imei, on);
    if (status !== 200) throw new Error(`the gateway answered OneNET's push ${status}`);
  }
}

export const onenetSmoke: SourceFleetKind = {
  kind: 'onenet-smoke',
  gatewayKind: 'smoke-alarm',
  source: 'onenet',
  model: 'onenet-ipso-smoke',
  problems(f) {
    const out = urlProblem(f.options ?? {}, 'api', ['http:', 'https:'], "the gateway's API, where OneNET pushes (…/push/onenet)");
    if (!/^[A-Za-z0-9]{3,32}$/.test(f.secret))
      out.push("secret: OneNET's push token (3 to 32 letters and digits), sources.onenet.token at the gateway");
    return out;
  },
  // 15 digits, as an IMEI: 86, then digits of the id.
  externalId: (id) => `86${digits(`onenet:${id}`, 13)}`,
  sourceSection: (first) => ({ token: first.secret }),
  create: (d) => new OnenetSmoke(d),
  actions: {
    alarm: (s) => (s as OnenetSmoke).point('3200_0_5500', 1),
    clear: (s) => (s as OnenetSmoke).point('3200_0_5500', 0),
    low_battery: async (s, a) => {
      const sim = s as OnenetSmoke;
      sim.battery = num(a, 'battery', 10);
      await sim.point('3_0_9', Math.round(sim.battery));
    },
    offline: (s, a) => offlineFor(a, (on) => (s as OnenetSmoke).online(on)),
    online: (s) => (s as OnenetSmoke).online(true),
  },
};

// ---- Gas detectors on an 8-channel Modbus TCP controller -----------------------------------

/** One controller per port, its channels the fleet's devices (channel n is the fleet's n-th device). */
const controllers = new Map<number, { sim: Promise<SimulatedGasController>; users: number }>();

/** `kitchen-gas-3` → controller `kitchen-gas`, channel 3. */
function channelOf(id: string): { controller: string; channel: number } {
  const m = /^(.*?)-?(\d+)$/.exec(id);
  return { controller: m?.[1] || 'controller', channel: Number(m?.[2] ?? 1) };
}

class ModbusGas implements SourcedSim {
  private controller?: SimulatedGasController;
  private readonly channel: number;

  constructor(private readonly d: DeviceSpec) {
    this.channel = channelOf(d.id).channel;
  }

  private get port(): number {
    return this.d.options.port as number;
  }

  async start(): Promise<void> {
    let entry = controllers.get(this.port);
    if (!entry) {
      const sim = new SimulatedGasController(this.port);
      entry = { sim: sim.start().then(() => sim), users: 0 };
      controllers.set(this.port, entry);
    }
    entry.users++;
    this.controller = await entry.sim;
  }

  async stop(): Promise<void> {
    const entry = controllers.get(this.port);
    this.controller = undefined;
    if (!entry || --entry.users > 0) return;
    controllers.delete(this.port);
    await (await entry.sim).stop();
  }

  /** The gateway polls the registers: a reading is the controller's, not sent. */
  async reading(): Promise<void> {}

  lel(value: number): void {
    this.controller!.setLel(this.channel, value);
  }

  fault(on: boolean): void {
    this.controller!.setFault(this.channel, on);
  }

  get valveOpen(): boolean {
    return this.controller?.valveOpen ?? true;
  }
}

export const modbusGas: SourceFleetKind = {
  kind: 'modbus-gas',
  gatewayKind: 'gas-sensor',
  source: 'modbus',
  model: 'gas-controller-8ch',
  problems(f) {
    const o = f.options ?? {};
    const out: string[] = [];
    if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65_535)
      out.push("options.port: the simulated controller's Modbus TCP port on 127.0.0.1 (1..65535)");
    if (f.count > 8) out.push(`count: ${f.count}: one controller has 8 channels`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(f.idPrefix.replace(/-$/, '')))
      out.push('idPrefix: letters, digits, _ . - (it names the controller, e.g. kitchen-gas-)');
    return out;
  },
  externalId: (id) => {
    const { controller, channel } = channelOf(id);
    return `${controller}/${channel}`;
  },
  sourceSection: (first) => ({
    controllers: [{ id: channelOf(first.id).controller, host: '127.0.0.1', port: first.options.port, pollSeconds: 1 }],
  }),
  create: (d) => new ModbusGas(d),
  actions: {
    /** The channel's detector reads `lel` %LEL (default 30, over the controller's 25 % alarm point). */
    leak: async (s, a) => (s as ModbusGas).lel(num(a, 'lel', 30)),
    clear: async (s) => (s as ModbusGas).lel(0),
    fault: async (s) => (s as ModbusGas).fault(true),
  },
};

export const SOURCE_FLEET_KINDS: Record<string, SourceFleetKind> = Object.fromEntries(
  [ctwingSmoke, chirpstackGs101, zigbeeHs1sa, onenetSmoke, modbusGas].map((k) => [k.kind, k]),
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
      const { api: _a, broker: _b, applicationId: _c, battery: _d, port: _e, ...options } = d.options;
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
