/**
 * Every device the gateway accepts: the config file's, then those provisioned on site
 * (`gridedge devices add`, the API), which can be added and removed while it runs and are kept
 * hashed in `<dataDir>/devices.json` for the next start.
 */
import { gridCodeProblem } from '../../contracts/grid.js';
import { digestHA1 } from '../../core/credentials.js';
import { gridedgeError } from '../../core/errors.js';
import type { RegisteredDevice } from '../../broker/broker.js';
import { deviceKinds } from '../../devices/registry.js';
import type { DeviceInfo, DeviceKind } from '../../devices/types.js';
import { deviceOptionProblems } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Watched } from '../heartbeats.js';
import { loadProvisioned, provisionedFile, provisionRecord, saveProvisioned } from './provisioned.js';

export type GatewayDevice = RegisteredDevice & { heartbeatSeconds?: number; digest?: { realm: string; ha1: string } };

export interface NewDeviceInput {
  id: string;
  kind: string;
  secret?: string;
  grid?: string;
  name?: string;
  location?: { lat: number; lon: number };
  options?: Record<string, unknown>;
}

export function kindOf(name: string): DeviceKind {
  const kind = deviceKinds.get(name);
  if (!kind) throw gridedgeError('GE_ERR_UNKNOWN_KIND', name, [...deviceKinds.keys()]);
  return kind;
}

function deviceInfo(d: { id: string; kind: string; grid: string; name?: string; location?: { lat: number; lon: number } }): DeviceInfo {
  return { id: d.id, kind: d.kind, grid: d.grid, ...(d.name ? { name: d.name } : {}), ...(d.location ? { location: d.location } : {}) };
}

/** What the heartbeat monitor needs of a device. */
export function watched(d: GatewayDevice): Watched {
  return {
    info: d.info,
    ...(d.heartbeatSeconds ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
    ...(d.kind.offlineCategory ? { category: d.kind.offlineCategory } : {}),
  };
}

export class DeviceDirectory {
  /** The config file's devices first, then provisioned ones, in the order they were added. */
  readonly devices: GatewayDevice[];

  constructor(private readonly config: Config) {
    this.devices = this.load();
  }

  private load(): GatewayDevice[] {
    const { config } = this;
    const fromConfig: GatewayDevice[] = config.devices.map((d) => ({
      info: deviceInfo(d),
      kind: kindOf(d.kind),
      ...(d.secret !== undefined ? { secret: d.secret } : {}),
      ...(d.secretHash !== undefined ? { secretHash: d.secretHash } : {}),
      options: d.options,
      ...(d.heartbeatSeconds !== undefined ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
      ...(d.via ? { via: d.via } : {}),
    }));
    const ids = new Set(fromConfig.map((d) => d.info.id));
    const file = provisionedFile(config.dataDir);
    const provisioned = loadProvisioned(config.dataDir).map((p): GatewayDevice => {
      if (ids.has(p.id)) throw gridedgeError('GE_ERR_DEVICE_TWICE', p.id, file);
      const kind = kindOf(p.kind);
      const options = structuredClone(p.options ?? {});
      const problems = deviceOptionProblems(p.kind, options, `${p.id}.options`);
      if (problems.length) throw gridedgeError('GE_ERR_PROVISIONED_INVALID', file, problems.join('; '));
      const heartbeatSeconds = p.heartbeatSeconds ?? kind.heartbeatSeconds;
      return {
        info: deviceInfo({ ...p, grid: p.grid ?? config.gateway.grid }),
        kind,
        secretHash: p.secretHash,
        options,
        ...(p.digest ? { digest: p.digest } : {}),
        ...(heartbeatSeconds ? { heartbeatSeconds } : {}),
      };
    });
    return [...fromConfig, ...provisioned];
  }

  get(id: string): GatewayDevice | undefined {
    return this.devices.find((d) => d.info.id === id);
  }

  /** Whether the device comes from the config file (rather than devices.json). */
  inConfig(id: string): boolean {
    return this.config.devices.some((d) => d.id === id);
  }

  /** HA1 = MD5(id:realm:secret) for HTTP Digest, or undefined for an unknown device or another realm. */
  digestHA1(deviceId: string, realm: string): string | undefined {
    const d = this.get(deviceId);
    if (d?.secret !== undefined) return digestHA1(deviceId, realm, d.secret);
    return d?.digest?.realm === realm ? d.digest.ha1 : undefined;
  }

  /** Provisions a device: checked, kept hashed in devices.json, then listed. Returns it and its secret if one was generated. */
  async add(input: NewDeviceInput): Promise<{ device: GatewayDevice; secret?: string }> {
    if (this.get(input.id)) throw gridedgeError('GE_ERR_DEVICE_EXISTS', input.id);
    const kind = kindOf(input.kind);
    const gridProblem = input.grid ? gridCodeProblem(input.grid) : undefined;
    if (gridProblem) throw gridedgeError('GE_ERR_DEVICE_INVALID', [`grid: "${input.grid}" is not valid (${gridProblem})`]);
    const options = structuredClone(input.options ?? {});
    const problems = deviceOptionProblems(input.kind, options, 'options');
    if (problems.length) throw gridedgeError('GE_ERR_DEVICE_INVALID', problems);
    const { dataDir } = this.config;
    const { record, secret, generated } = await provisionRecord({
      ...input,
      options,
      ...(kind.digestRealm ? { digestRealm: kind.digestRealm } : {}),
    });
    await saveProvisioned(dataDir, [...loadProvisioned(dataDir), record]);
    const device: GatewayDevice = {
      info: deviceInfo({ ...input, grid: input.grid ?? this.config.gateway.grid }),
      kind,
      secretHash: record.secretHash,
      options,
      ...(record.digest ? { digest: record.digest } : {}),
      ...(kind.heartbeatSeconds ? { heartbeatSeconds: kind.heartbeatSeconds } : {}),
    };
    this.devices.push(device);
    return generated ? { device, secret } : { device };
  }

  /** Removes a provisioned device from devices.json and from the list. */
  async remove(id: string): Promise<void> {
    if (this.inConfig(id)) throw gridedgeError('GE_ERR_DEVICE_IN_CONFIG', id);
    const provisioned = loadProvisioned(this.config.dataDir);
    if (!provisioned.some((d) => d.id === id)) throw gridedgeError('GE_ERR_DEVICE_NOT_FOUND', id, 'provisioned device');
    await saveProvisioned(
      this.config.dataDir,
      provisioned.filter((d) => d.id !== id),
    );
    const i = this.devices.findIndex((d) => d.info.id === id);
    if (i >= 0) this.devices.splice(i, 1);
  }
}
