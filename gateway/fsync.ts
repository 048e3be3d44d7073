import { open, rename } from 'node:fs/promises';
import path from 'node:path';

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

/** Replaces `file` with `data` atomically and durably: temp file, fsync, rename, fsync of the folder. */
export async function writeFileDurably(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
