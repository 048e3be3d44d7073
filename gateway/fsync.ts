import { open } from 'node:fs/promises';

/**
 * Makes a directory's entries durable (a new file, a rename): fsync on the file alone does not
 * cover its name. Some platforms refuse to fsync a directory; there it is a best effort.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync().catch(() => undefined);
  } finally {
    await fh.close();
  }
}
