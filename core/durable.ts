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
let writes = 0;

export async function writeFileDurably(file: string, data: string | Buffer): Promise<void> {
  // Unique per write: two writers of the same file (the same evidence stored twice at once) must not share a temp file.
  const tmp = `${file}.${process.pid}.${++writes}.tmp`;
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
