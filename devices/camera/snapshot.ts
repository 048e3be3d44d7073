/**
 * Pictures from a camera's HTTP snapshot URL (Basic or Digest auth): the fallback frame source for
 * cameras without a usable stream, and the pictures attached to alarms.
 */
import { execFile } from 'node:child_process';
import { answerChallenge } from '../../core/http-digest.js';
import { maskUrl } from '../../core/secrets.js';
import { FrameSourceBase, type FrameSourceOptions } from './frames.js';

export interface SnapshotSourceOptions extends FrameSourceOptions {
  user?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * Polls an HTTP snapshot URL (Basic or Digest auth) and decodes each JPEG with ffmpeg to the
 * same raw RGB frames. For cameras whose stream is unusable; far costlier per frame, so meant
 * for low rates.
 */
export class SnapshotFrameSource extends FrameSourceBase {
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly snap: SnapshotSourceOptions,
  ) {
    super(snap);
    if (!/^https?:\/\//i.test(url)) throw new Error(`camera ${snap.camera}: snapshot "${maskUrl(url)}" is not an http(s):// URL`);
  }

  protected open(): void {
    const tick = () => {
      if (!this.running) return;
      const started = Date.now();
      this.inFlight = this.pollOnce()
        .then(() => {
          if (this.running) this.timer = setTimeout(tick, Math.max(0, 1000 / this.opts.fps - (Date.now() - started)));
        })
        .catch((err: Error) => this.retry(err.message));
    };
    tick();
  }

  private async pollOnce(): Promise<void> {
    const jpeg = await fetchSnapshot(this.url, this.snap.user, this.snap.password, this.snap.timeoutMs ?? 5000);
    const rgb = await decodeJpeg(jpeg, this.opts.width, this.opts.height, this.opts.ffmpegPath);
    if (this.running) this.deliver(rgb);
  }

  protected async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
  }
}

/** GET a snapshot, answering a Digest (or Basic) challenge once. */
export async function fetchSnapshot(url: string, user = '', password = '', timeoutMs = 5000): Promise<Buffer> {
  const { type, bytes } = await cameraGet(url, user, password, timeoutMs, 'snapshot');
  if (!/^image\//.test(type)) throw new Error(`snapshot ${maskUrl(url)}: not an image (${type || 'no content type'})`);
  return bytes;
}

/**
 * GET from a camera's HTTP API (a snapshot, ISAPI's deviceInfo, Dahua's magicBox), answering a
 * Digest (or Basic) challenge once; an error names `what` and the URL without credentials.
 */
export function cameraGet(
  url: string,
  user = '',
  password = '',
  timeoutMs = 5000,
  what = 'camera',
): Promise<{ type: string; bytes: Buffer }> {
  return cameraRequest(url, { user, password, timeoutMs, what });
}

/** A request to a camera's HTTP API (GET, or PUT/POST with a body), Digest answered once. */
export async function cameraRequest(
  url: string,
  o: { user?: string; password?: string; timeoutMs?: number; what?: string; method?: 'GET' | 'PUT' | 'POST'; body?: string; type?: string },
): Promise<{ type: string; bytes: Buffer }> {
  const { user = '', password = '', timeoutMs = 5000, what = 'camera', method = 'GET' } = o;
  const u = new URL(url);
  const path = `${u.pathname}${u.search}`;
  const get = (authorization?: string) =>
    fetch(url, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(o.body !== undefined ? { 'content-type': o.type ?? 'application/xml' } : {}),
      },
      ...(o.body !== undefined ? { body: o.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  let res: Response;
  try {
    res = await get();
    const challenge = res.headers.get('www-authenticate');
    if (res.status === 401 && challenge && user) {
      await res.arrayBuffer();
      res = await get(answerChallenge(challenge, user, password, method, path));
    }
  } catch (err) {
    throw new Error(`${what} ${maskUrl(url)}: ${(err as Error).message}`);
  }
  if (res.status === 401) throw new Error(`${what} ${maskUrl(url)}: the camera refused the credentials`);
  if (!res.ok) throw new Error(`${what} ${maskUrl(url)}: HTTP ${res.status}`);
  return { type: res.headers.get('content-type') ?? '', bytes: Buffer.from(await res.arrayBuffer()) };
}

/** JPEG (or PNG) → rgb24 at width × height, through ffmpeg. */
export function decodeJpeg(image: Buffer, width: number, height: number, ffmpegPath = 'ffmpeg'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      ffmpegPath,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        'pipe:0',
        '-vf',
        `scale=${width}:${height}`,
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        '-frames:v',
        '1',
        'pipe:1',
      ],
      { encoding: 'buffer', maxBuffer: width * height * 3 + 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`could not decode the picture: ${stderr.toString().trim() || err.message}`));
        if (stdout.length !== width * height * 3)
          return reject(new Error(`decoder gave ${stdout.length} bytes, expected ${width * height * 3}`));
        resolve(stdout);
      },
    );
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(image);
  });
}
