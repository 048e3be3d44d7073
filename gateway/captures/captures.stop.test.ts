/**
 * A gateway stopping while captures are being recorded: stop() resolves only when every capture
 * handed over is written (images and index line), so nothing lands in the data folder after it
 * and none handed over is lost. (CI once failed a teardown on a capture written after stop().)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { PHOTOS } from '../../test/helpers/photos.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { resolveConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';

const GRID = '110105001002001';

describe('captures at stop', () => {
  it('finishes every capture handed over before stop() resolves', async () => {
    const dataDir = await tempDir('captures-stop');
    const gateway = new Gateway(
      resolveConfig(
        {
          gateway: { id: 'gw-stop', grid: '110105001002000', dataDir },
          broker: { host: '127.0.0.1', port: 0 },
          api: { host: '127.0.0.1', port: 0 },
          devices: [],
        },
        'test',
        dataDir,
        {},
      ),
      createLogger('silent'),
    );
    await gateway.start();
    const n = 12;
    const at = Date.now();
    const recorded = Array.from({ length: n }, (_, i) =>
      gateway.captures.record({
        camera: `cam-${i}`,
        grid: GRID,
        source: 'detector',
        subject: 'vehicle',
        track: `cam-${i}:t1`,
        firstAt: at,
        lastAt: at,
        scene: { bytes: PHOTOS[i % PHOTOS.length]!, mime: 'image/jpeg', box: { x: 10, y: 10, w: 50, h: 40 } },
      }),
    );
    await gateway.stop();
    // Read before the records are awaited: stop() alone must have waited for them.
    const index = (await readFile(path.join(dataDir, 'captures', 'index.jsonl'), 'utf8')).trim().split('\n');
    expect(index).toHaveLength(n);
    expect((await Promise.all(recorded)).every((m) => m !== undefined)).toBe(true);
  });
});
