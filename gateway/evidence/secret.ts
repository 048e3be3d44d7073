/**
 * The secret that signs evidence links: from config or the environment, else generated once
 * and kept (mode 0600) in the data folder, so links survive a restart without anyone having
 * to invent a secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function linkSecret(configured: string | undefined, stateDir: string): string {
  if (configured) return configured;
  const file = path.join(stateDir, 'link-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(stateDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
