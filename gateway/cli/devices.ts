/**
 * `gridedge devices add|list|remove|hash-secret`: provisioning on site. Added devices live in
 * `<dataDir>/devices.json` with a scrypt hash of their secret (shown once, when generated) and
 * join the config file's devices when the gateway next starts.
 */
import { deviceKinds } from '../../devices/registry.js';
import { deviceOptionProblems, loadConfig } from '../config/load.js';
import { gridCodeProblem } from '../../contracts/grid.js';
import { ID_PATTERN } from '../../contracts/ids.js';
import { loadProvisioned, provisionedFile, provisionRecord, saveProvisioned } from '../devices/provisioned.js';
import { UsageError } from './args.js';

/** Input the user can fix: exit code 2, like a bad config. */
export interface AddOptions {
  config: string;
  id: string;
  kind: string;
  grid?: string;
  name?: string;
  lat?: number;
  lon?: number;
  option?: string[];
  secret?: string;
}

/** `key=value` → typed value: numbers and booleans as such, the rest as text. */
function optionValue(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (text !== '' && Number.isFinite(Number(text))) return Number(text);
  return text;
}

export async function addDevice(o: AddOptions, out: (line: string) => void): Promise<void> {
  const config = await loadConfig(o.config, process.env, { requireSecrets: false });
  const problems: string[] = [];
  if (!new RegExp(ID_PATTERN).test(o.id))
    problems.push(`--id: "${o.id}" is not valid (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)`);
  const kind = deviceKinds.get(o.kind);
  if (!kind) problems.push(`--kind: "${o.kind}" is not a device kind (expected one of: ${[...deviceKinds.keys()].join(', ')})`);
  if (o.grid && gridCodeProblem(o.grid)) problems.push(`--grid: "${o.grid}" is not valid (${gridCodeProblem(o.grid)})`);
  if ((o.lat === undefined) !== (o.lon === undefined)) problems.push('--lat and --lon: give both or neither');
  if (o.secret !== undefined && o.secret.length < 8) problems.push('--secret: too short (expected 8-256 characters)');
  const provisioned = loadProvisioned(config.dataDir);
  if (config.devices.some((d) => d.id === o.id) || provisioned.some((d) => d.id === o.id))
    problems.push(`--id: device ${o.id} exists already`);
  const options: Record<string, unknown> = {};
  for (const pair of o.option ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) problems.push(`--option: "${pair}" is not key=value`);
    else options[pair.slice(0, eq)] = optionValue(pair.slice(eq + 1));
  }
  if (kind) problems.push(...deviceOptionProblems(o.kind, options, '--option'));
  if (problems.length) throw new UsageError(`cannot add the device:\n${problems.map((p) => `  - ${p}`).join('\n')}`);

  const {
    record: device,
    secret,
    generated,
  } = await provisionRecord({
    id: o.id,
    kind: o.kind,
    ...(kind?.digestRealm ? { digestRealm: kind.digestRealm } : {}),
    ...(o.secret !== undefined ? { secret: o.secret } : {}),
    ...(o.grid ? { grid: o.grid } : {}),
    ...(o.name ? { name: o.name } : {}),
    ...(o.lat !== undefined && o.lon !== undefined ? { location: { lat: o.lat, lon: o.lon } } : {}),
    options,
  });
  await saveProvisioned(config.dataDir, [...provisioned, device]);
  out(
    `added ${o.id} (${o.kind}) in grid ${o.grid ?? config.gateway.grid} to ${provisionedFile(config.dataDir)}; it joins at the ` +
      `gateway's next start`,
  );
  if (generated) out(`secret for ${o.id} (shown once, only its hash is kept): ${secret}`);
}

export async function listDevices(configFile: string, json: boolean, out: (line: string) => void): Promise<void> {
  const config = await loadConfig(configFile, process.env, { requireSecrets: false });
  const rows = [
    ...config.devices.map((d) => ({ id: d.id, kind: d.kind, grid: d.grid, name: d.name ?? '', source: 'config' })),
    ...loadProvisioned(config.dataDir).map((d) => ({
      id: d.id,
      kind: d.kind,
      grid: d.grid ?? config.gateway.grid,
      name: d.name ?? '',
      source: 'provisioned',
    })),
  ];
  if (json) return out(JSON.stringify(rows, null, 2));
  if (rows.length === 0) return out('no devices');
  const w = (k: keyof (typeof rows)[number]) => Math.max(k.length, ...rows.map((r) => r[k].length));
  const cols = ['id', 'kind', 'grid', 'source', 'name'] as const;
  out(
    cols
      .map((c) => c.toUpperCase().padEnd(w(c)))
      .join('  ')
      .trimEnd(),
  );
  for (const r of rows)
    out(
      cols
        .map((c) => r[c].padEnd(w(c)))
        .join('  ')
        .trimEnd(),
    );
}

export async function removeDevice(configFile: string, id: string, out: (line: string) => void): Promise<void> {
  const config = await loadConfig(configFile, process.env, { requireSecrets: false });
  const provisioned = loadProvisioned(config.dataDir);
  if (!provisioned.some((d) => d.id === id)) {
    const inConfig = config.devices.some((d) => d.id === id);
    throw new UsageError(inConfig ? `device ${id} is in the config file ${configFile}: remove it there` : `no provisioned device ${id}`);
  }
  await saveProvisioned(
    config.dataDir,
    provisioned.filter((d) => d.id !== id),
  );
  out(`removed ${id}; the gateway refuses it from its next start`);
}
