/** Temp folders that are removed when the test file ends (see test/setup.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `gridedge-${prefix}-`));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  const dirs = made.splice(0);
  // Retried: a gateway's last capture or evidence write can land in a folder while rm walks it (ENOTEMPTY).
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })));
}
