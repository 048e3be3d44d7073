/**
 * GB/T 28181 NVRs in a scenario's fleet (`kind: gb28181-nvr`): simulated NVRs that register to
 * the gateway's SIP port with digest, keep alive, answer its catalog with their channels and
 * stream the scenes when INVITEd. Their ids are GB ids: `idPrefix` is the first digits and the
 * number fills the rest of the 20 (an NVR is type 118); each channel is a type 131 id under it.
 */
import { defaultSipId } from '../../devices/gb28181/ids.js';
import { BUILTIN_SCENES, renderScenes } from '../camera/scenes.js';
import { SimulatedGbDevice } from './device.js';
import { answerInvites } from './media.js';

export const GB_KIND = 'gb28181-nvr';

export interface GbFleetOptions {
  /** The gateway's SIP port (UDP), on the --target host. */
  sipPort: number;
  /** The gateway's SIP id (default: the one it takes by default for the fleet's grid cell). */
  serverId?: string;
  channels: number;
  scene: string;
  codec: 'h264' | 'h265';
  detect?: unknown;
}

export function gbFleetProblems(f: { idPrefix: string; count: number; options?: Record<string, unknown> }): string[] {
  const o = f.options ?? {};
  const out: string[] = [];
  if (!/^\d{10,19}$/.test(f.idPrefix) || String(f.count).length > 20 - f.idPrefix.length)
    out.push(`idPrefix: "${f.idPrefix}" must be 10 to 19 digits, leaving room for ${f.count} (ids are 20 digits, GB/T 28181 Annex D)`);
  if (!(Number.isInteger(o.sipPort) && (o.sipPort as number) > 0 && (o.sipPort as number) < 65536))
    out.push("options.sipPort: the gateway's SIP port (gb28181.port)");
  if (o.serverId !== undefined && !(typeof o.serverId === 'string' && /^\d{20}$/.test(o.serverId)))
    out.push("options.serverId: the gateway's 20-digit SIP id");
  if (o.channels !== undefined && !(Number.isInteger(o.channels) && (o.channels as number) >= 1 && (o.channels as number) <= 64))
    out.push('options.channels: 1 to 64');
  if (o.scene !== undefined && !(typeof o.scene === 'string' && BUILTIN_SCENES[o.scene]))
    out.push(`options.scene: one of ${Object.keys(BUILTIN_SCENES).join(', ')}`);
  if (o.codec !== undefined && o.codec !== 'h264' && o.codec !== 'h265') out.push('options.codec: h264 or h265');
  return out;
}

export function gbFleetOptions(o: Record<string, unknown>): GbFleetOptions {
  return {
    sipPort: o.sipPort as number,
    ...(typeof o.serverId === 'string' ? { serverId: o.serverId } : {}),
    channels: typeof o.channels === 'number' ? o.channels : 2,
    scene: typeof o.scene === 'string' ? o.scene : 'street',
    codec: o.codec === 'h265' ? 'h265' : 'h264',
    ...(o.detect !== undefined ? { detect: o.detect } : {}),
  };
}

/** A GB id for the i-th device of a fleet: the prefix, then the number. */
export function gbDeviceId(idPrefix: string, n: number): string {
  return `${idPrefix}${String(n).padStart(20 - idPrefix.length, '0')}`;
}

/** The channels of an NVR: its first ten digits, type 131, its network digit, its last three, a serial. */
export function gbChannelIds(nvrId: string, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${nvrId.slice(0, 10)}131${nvrId.slice(13, 14)}${nvrId.slice(-3)}${String(i + 1).padStart(3, '0')}`,
  );
}

/** The gateway's `gb28181:` section for a fleet's NVRs: each with its password and its channels' grid cells. */
export function gbGatewaySection(devices: Array<{ id: string; grid: string; secret: string; options: Record<string, unknown> }>) {
  const first = devices[0] ? gbFleetOptions(devices[0].options) : undefined;
  return {
    ...(first ? { port: first.sipPort } : {}),
    ...(first?.serverId ? { sipId: first.serverId } : {}),
    devices: devices.map((d) => {
      const o = gbFleetOptions(d.options);
      return {
        id: d.id,
        password: d.secret,
        grid: d.grid,
        channels: gbChannelIds(d.id, o.channels).map((id, i) => ({
          id,
          // The first channel of each NVR feeds the detectors when the scenario asks for them.
          ...(i === 0 && o.detect ? { detect: o.detect } : {}),
        })),
      };
    }),
  };
}

/** A running simulated NVR of a scenario, and the scene its channels show. */
export class ScenarioNvr {
  readonly device: SimulatedGbDevice;
  scene: string;
  private scenes?: Awaited<ReturnType<typeof renderScenes>>;
  private streams?: ReturnType<typeof answerInvites>;

  constructor(
    readonly id: string,
    grid: string,
    secret: string,
    targetHost: string,
    private readonly options: GbFleetOptions,
  ) {
    this.scene = options.scene;
    const serverId = options.serverId ?? defaultSipId(grid);
    this.device = new SimulatedGbDevice({
      id,
      password: secret,
      server: { host: targetHost, port: options.sipPort, id: serverId, domain: serverId.slice(0, 10) },
      channels: gbChannelIds(id, options.channels).map((c, i) => ({ id: c, name: `${id.slice(-3)} 通道${i + 1}` })),
      keepaliveSeconds: 10,
    });
  }

  async start(): Promise<void> {
    this.scenes = await renderScenes(BUILTIN_SCENES, 640, 360);
    this.streams = answerInvites(this.device, {
      codec: this.options.codec,
      fps: 5,
      pictures: () => (this.scenes!.get(this.scene) ?? this.scenes!.get('street')!).jpegs,
    });
    await this.device.start();
  }

  async stop(): Promise<void> {
    for (const s of this.streams?.values() ?? []) s.stop();
    await this.device.stop();
  }
}

export const GB_ACTIONS: Record<string, (nvr: ScenarioNvr, args: Record<string, unknown>) => Promise<void>> = {
  /** Every channel shows a scene. */
  show: async (nvr, a) => {
    nvr.scene = typeof a.scene === 'string' ? a.scene : 'street';
  },
  /** An alarm of a channel (method 5 video, type 6 intrusion unless said). */
  alarm: async (nvr, a) => {
    const channels = nvr.device.opts.channels;
    const channel = typeof a.channel === 'number' ? channels[a.channel - 1] : channels[0];
    await nvr.device.alarm({
      deviceId: channel?.id ?? nvr.id,
      method: typeof a.method === 'number' ? a.method : 5,
      ...(typeof a.type === 'number' || a.type === undefined ? { type: typeof a.type === 'number' ? a.type : 6 } : {}),
      priority: typeof a.priority === 'number' ? a.priority : 1,
      ...(typeof a.description === 'string' ? { description: a.description } : {}),
    });
  },
  /** Stops its keepalives for a while (three missed: device.offline at the gateway). */
  silence: async (nvr, a) => {
    nvr.device.pauseKeepalives();
    setTimeout(() => nvr.device.resumeKeepalives(), (typeof a.seconds === 'number' ? a.seconds : 60) * 1000).unref();
  },
};
