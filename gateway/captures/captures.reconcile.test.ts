/**
 * One vehicle, two reads: a camera with its own ANPR (ISAPI/Dahua) and the gateway's plate
 * detector both capture a plate. Within captures.reconcileSeconds the two reads — the same text,
 * or one OCR look-alike apart — are one capture, the better shot, with both reads' times; a read
 * the other source never matches goes alone after the window; a camera with only one source is
 * not held at all.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { PHOTOS } from '../../test/helpers/photos.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { resolveConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import type { CaptureInput } from './captures.js';

const GRID = '110105001002001';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let gateway: Gateway;

beforeAll(async () => {
  const dataDir = await tempDir('captures-reconcile');
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-rec', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0 },
        evidence: { privacy: { allow: ['plate'] } },
        captures: { reconcileSeconds: 1 },
        cameras: [
          // Its ISAPI address answers nothing here: only its config matters to the captures.
          { id: 'gate-anpr', isapi: 'http://127.0.0.1:9', detect: { plate: {} } },
          { id: 'gate-plain', rtsp: 'rtsp://127.0.0.1:9/none', detect: { plate: {} } },
        ],
        devices: [],
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  await gateway.start();
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
});

const read = (
  camera: string,
  source: CaptureInput['source'],
  plate: string,
  score: number,
  photo: number,
  at = Date.now(),
): CaptureInput => ({
  camera,
  grid: GRID,
  source,
  subject: 'plate',
  ...(source === 'detector' ? { track: `${camera}:t${photo}` } : {}),
  firstAt: at,
  lastAt: at,
  plate,
  score,
  crop: { bytes: PHOTOS[photo]!, mime: 'image/jpeg' },
});

describe("a camera's own plate read and the detector's", () => {
  it('are one capture, the better shot, with both times', async () => {
    const t0 = Date.now();
    const first = gateway.captures.record(read('gate-anpr', 'detector', '京A12345', 0.71, 0, t0));
    const second = gateway.captures.record(read('gate-anpr', 'camera', '京A12345', 0.96, 1, t0 + 400));
    expect(await second).toBeUndefined();
    const m = await first;
    expect(m).toMatchObject({
      source: 'camera',
      plate: { text: '京A12345' },
      firstAt: new Date(t0).toISOString(),
      lastAt: new Date(t0 + 400).toISOString(),
    });
    expect(m!.crop!.sha256).toBe(sha(PHOTOS[1]!));
    expect(m!.track).toBe('gate-anpr:t0'); // the detector's track names it
    expect(gateway.counters.total('captures_reconciled_total')).toBe(1);
  });

  it('match one OCR look-alike apart, and keep the detector’s shot when it is the better', async () => {
    const a = gateway.captures.record(read('gate-anpr', 'camera', '京B1234B', 0.55, 2));
    const b = gateway.captures.record(read('gate-anpr', 'detector', '京B12348', 0.9, 3));
    expect(await b).toBeUndefined();
    const m = await a;
    expect(m).toMatchObject({ source: 'detector', plate: { text: '京B12348' } });
    expect(m!.crop!.sha256).toBe(sha(PHOTOS[3]!));
  });

  it('go apart when the plates differ: each after the window', async () => {
    const at = Date.now();
    const [x, y] = await Promise.all([
      gateway.captures.record(read('gate-anpr', 'camera', '京C11111', 0.9, 0)),
      gateway.captures.record(read('gate-anpr', 'detector', '京C22222', 0.9, 1)),
    ]);
    expect([x?.plate?.text, y?.plate?.text]).toEqual(['京C11111', '京C22222']);
    expect(Date.now() - at).toBeGreaterThanOrEqual(900);
  });

  it('are not held on a camera with one source only', async () => {
    const at = Date.now();
    const m = await gateway.captures.record(read('gate-plain', 'detector', '京D33333', 0.8, 2));
    expect(m?.plate?.text).toBe('京D33333');
    expect(Date.now() - at).toBeLessThan(900);
  });
});
