/**
 * The `gb28181:` section resolved: the gateway's SIP id and domain (from its grid code when not
 * given), the address it is reached at, passwords from the environment, grid cells, and the
 * checks a schema cannot make (ids unique across devices, channels and cameras; a password for
 * every device; a sane RTP port range; a county that is the gateway's).
 */
import os from 'node:os';
import { divisionName, gridCodeProblem } from '../../contracts/grid.js';
import { detectProblems } from '../../detectors/registry.js';
import { defaultSipId, isVideoChannel, parseGbId } from '../../devices/gb28181/ids.js';
import type { Env } from './load.js';
import type { GatewayGb28181, RawConfig } from './schema.js';

export const gbPasswordEnv = (id: string) => `GRIDEDGE_GB28181_PASSWORD_${id}`;
export const cascadePasswordEnv = (id: string) => `GRIDEDGE_GB28181_CASCADE_PASSWORD_${id}`;

/** The machine's first LAN IPv4 address: what cameras on the LAN reach the gateway at. */
function lanAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

export function resolveGb28181(
  raw: RawConfig,
  ctx: { env: Env; baseDir: string; timezone: string; requireSecrets: boolean; takenIds: Set<string> },
  problems: string[],
  warnings: string[],
): GatewayGb28181 | undefined {
  const gb = raw.gb28181;
  if (!gb) return undefined;
  const { env } = ctx;
  const sipId = gb.sipId ?? defaultSipId(raw.gateway.grid);
  const id = parseGbId(sipId);
  if (id && id.county !== raw.gateway.grid.slice(0, 6))
    warnings.push(
      `gb28181.sipId: "${sipId}" is in ${divisionName(`${id.county}000000000`) ?? id.county}, not in the gateway's county ` +
        `${raw.gateway.grid.slice(0, 6)}; the city's platform expects the site's own division code`,
    );
  if (id && id.type !== '200' && id.type !== '209')
    warnings.push(`gb28181.sipId: type ${id.type} (${id.typeName ?? 'unknown'}); a platform's id has type 200 (digits 11-13)`);
  const domain = gb.domain ?? sipId.slice(0, 10);
  const bindAddress = gb.host === '0.0.0.0' || gb.host === '::' ? undefined : gb.host;
  const publicHost = gb.publicHost ?? bindAddress ?? lanAddress() ?? '127.0.0.1';
  if (!gb.publicHost && !bindAddress)
    warnings.push(
      `gb28181.publicHost: not set; devices are told ${publicHost} (the first LAN address), set it if they reach the gateway elsewhere`,
    );
  const password = env.GRIDEDGE_GB28181_PASSWORD ?? gb.password;
  if (gb.acceptUnlisted && !password)
    problems.push('gb28181.acceptUnlisted: needs the site password (gb28181.password or GRIDEDGE_GB28181_PASSWORD)');
  if (gb.media.portMax - gb.media.portMin < 2)
    problems.push(`gb28181.media: portMin ${gb.media.portMin} to portMax ${gb.media.portMax} leaves no room for a stream`);
  if (gb.minExpires > gb.maxExpires) problems.push(`gb28181.minExpires: ${gb.minExpires} is above maxExpires ${gb.maxExpires}`);

  const ids = new Map<string, string>();
  const claim = (value: string, at: string) => {
    const first = ids.get(value) ?? (ctx.takenIds.has(value) ? 'a device or camera' : value === sipId ? 'gb28181.sipId' : undefined);
    if (first) problems.push(`${at}: "${value}" is already used by ${first}`);
    else ids.set(value, at);
  };
  const grid = (value: string | undefined, at: string, fallback: string) => {
    if (value) {
      const p = gridCodeProblem(value);
      if (p) problems.push(`${at}: "${value}" is not valid (${p})`);
    }
    return value ?? fallback;
  };
  const devices: GatewayGb28181['devices'] = gb.devices.map((d, i) => {
    const at = `gb28181.devices[${i}]`;
    claim(d.id, `${at}.id`);
    const own = env[gbPasswordEnv(d.id)] ?? d.password;
    if (ctx.requireSecrets && !own && !password)
      problems.push(`${at}.password: missing (set it, ${gbPasswordEnv(d.id)}, or gb28181.password for the whole site)`);
    const deviceGrid = grid(d.grid, `${at}.grid`, raw.gateway.grid);
    const channels = d.channels.map((c, k) => {
      const cat = `${at}.channels[${k}]`;
      claim(c.id, `${cat}.id`);
      if (c.width % 2 || c.height % 2) problems.push(`${cat}: width and height must be even (got ${c.width}x${c.height})`);
      if (c.detect) problems.push(...detectProblems(c.detect, { at: `${cat}.detect`, baseDir: ctx.baseDir }));
      return { ...c, grid: grid(c.grid, `${cat}.grid`, deviceGrid) };
    });
    return { ...d, ...(own ? { password: own } : {}), grid: deviceGrid, channels };
  });
  // A camera's id upward must be no other's: the platform files channels by id.
  raw.cameras.forEach((c, i) => {
    if (!c.gbId) return;
    claim(c.gbId, `cameras[${i}].gbId`);
    if (!isVideoChannel(c.gbId))
      warnings.push(`cameras[${i}].gbId: "${c.gbId}" is not a video channel's type (131 or 132, digits 11-13); platforms may not play it`);
  });
  const cascade = gb.cascade.map((c, i) => {
    const at = `gb28181.cascade[${i}]`;
    const secret = env[cascadePasswordEnv(c.sipId)] ?? c.password;
    if (ctx.requireSecrets && !secret) problems.push(`${at}.password: missing (set it or ${cascadePasswordEnv(c.sipId)})`);
    if (c.sipId === sipId) problems.push(`${at}.sipId: "${c.sipId}" is the gateway's own id`);
    return { ...c, ...(secret ? { password: secret } : {}), domain: c.domain ?? c.sipId.slice(0, 10) };
  });
  return {
    sipId,
    domain,
    host: gb.host,
    port: gb.port,
    transports: gb.transports,
    publicHost,
    ...(password ? { password } : {}),
    minExpires: gb.minExpires,
    maxExpires: gb.maxExpires,
    keepaliveSeconds: gb.keepaliveSeconds,
    acceptUnlisted: gb.acceptUnlisted,
    media: gb.media,
    limits: gb.limits,
    devices,
    cascade,
    timezone: ctx.timezone,
    grid: raw.gateway.grid,
  };
}
