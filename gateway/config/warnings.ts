/**
 * What a config may do but probably should not: the gateway starts, and `gridedge config check`
 * and the start-up log say each one. A warning names its key path, what was found, and what to do.
 */
import os from 'node:os';
import path from 'node:path';
import { divisionName } from '../../contracts/grid.js';
import type { RawConfig } from './schema.js';

const PLACEHOLDER = /change[-_ ]?me|changeme|example|placeholder/i;

/** Where the data of a gateway goes when its config does not say: the system's state folder, not the config's. */
export function defaultDataDir(gatewayId: string): string {
  if (process.getuid?.() === 0) return path.join('/var/lib/gridedge', gatewayId);
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'gridedge', gatewayId);
}

export function configWarnings(
  raw: RawConfig,
  devices: ReadonlyArray<{ id: string; grid: string; secret?: string }>,
  cameras: ReadonlyArray<{ id: string; grid: string }>,
): string[] {
  const out: string[] = [];
  const home = raw.gateway.grid.slice(0, 6);
  const homeName = divisionName(raw.gateway.grid) ?? home;
  const elsewhere = (at: string, grid: string) => {
    if (grid.slice(0, 6) !== home)
      out.push(
        `${at}: "${grid}" lies in ${divisionName(grid) ?? grid.slice(0, 6)}, not in the gateway's ${homeName}: ` +
          'a gateway serves one community; check the code',
      );
  };
  devices.forEach((d, i) => {
    elsewhere(`devices[${i}].grid`, d.grid);
    if (d.secret && PLACEHOLDER.test(d.secret))
      out.push(`devices[${i}].secret: the example's placeholder; give the device a secret of its own`);
  });
  cameras.forEach((c, i) => {
    elsewhere(`cameras[${i}].grid`, c.grid);
  });
  raw.api.tokens.forEach((t, i) => {
    if (t.token && PLACEHOLDER.test(t.token))
      out.push(`api.tokens[${i}].token: the example's placeholder; make one (e.g. openssl rand -base64 24)`);
  });
  if (!raw.api.tokens.length)
    out.push('api.tokens: none, so nobody can open the console or use the API; add one with role operator (or GRIDEDGE_API_TOKEN_<NAME>)');
  if (raw.upstream) {
    if (!raw.upstream.commandSecret)
      out.push(
        'upstream.commandSecret: not set, so every platform command (ack, dispatch, resolve, close) is refused (GRIDEDGE_COMMAND_SECRET)',
      );
    if (!raw.api.publicUrl)
      out.push(
        `api.publicUrl: not set, so evidence links sent upstream point at http://${raw.api.host}:${raw.api.port}, ` +
          'which the centre cannot reach; give the address the centre uses',
      );
    if (/\.example\.|example\.(com|org|gov\.cn)/.test(raw.upstream.url))
      out.push(`upstream.url: "${raw.upstream.url}" is the example's; give the platform's broker`);
  }
  if (!raw.gateway.dataDir) out.push(`gateway.dataDir: not set; the outbox, evidence and spool go to ${defaultDataDir(raw.gateway.id)}`);
  return out;
}
