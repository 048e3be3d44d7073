/**
 * The GB/T 28181 ids the gateway's own cameras go up to platforms under (a camera's `gbId`, or
 * one of the gateway's domain, type 132, allocated once and kept in the data folder): an upper
 * platform files a channel by its id, so a camera keeps its id across restarts and config edits.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from '../core/durable.js';
import { cameraGbId } from '../devices/gb28181/ids.js';

export class CameraGbIds {
  private ids = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly sipId: string,
    /** Ids the config gives cameras: never allocated to another. */
    private readonly fixed: ReadonlyMap<string, string>,
    private readonly warn: (why: string) => void,
  ) {}

  static fileIn(dataDir: string): string {
    return path.join(dataDir, 'gb28181-camera-ids.json');
  }

  async load(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object')
        for (const [camera, id] of Object.entries(parsed as Record<string, unknown>))
          if (typeof id === 'string' && /^\d{20}$/.test(id)) this.ids.set(camera, id);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${this.file}: unreadable (${(err as Error).message})`);
    }
  }

  /** The camera's id upward: the config's, the one it was given before, or a new one (saved). */
  idOf(camera: string): string {
    const fixed = this.fixed.get(camera);
    if (fixed) return fixed;
    const known = this.ids.get(camera);
    if (known) return known;
    const taken = new Set([...this.ids.values(), ...this.fixed.values()]);
    let serial = 1;
    while (taken.has(cameraGbId(this.sipId, serial))) serial++;
    const id = cameraGbId(this.sipId, serial);
    this.ids.set(camera, id);
    const json = JSON.stringify(Object.fromEntries(this.ids), null, 2);
    this.saving = this.saving
      .then(async () => {
        await mkdir(path.dirname(this.file), { recursive: true });
        await writeFileDurably(this.file, json);
      })
      .catch((err: Error) => this.warn(`${this.file}: not saved (${err.message}); the ids may change at the next start`));
    return id;
  }

  async flush(): Promise<void> {
    await this.saving;
  }
}
