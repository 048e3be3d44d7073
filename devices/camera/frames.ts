/**
 * Frames from a camera, decoded to raw RGB at the detector's size and rate. The RTSP reader runs
 * ffmpeg through fluent-ffmpeg (kept behind this one module: its repository was archived in
 * 2025, so it must stay swappable); the snapshot poller is the fallback for cameras without a
 * usable stream. Both reconnect with backoff, both keep the health the API and metrics show.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import ffmpeg from 'fluent-ffmpeg';
import { digestAuthorization } from '../../core/http-digest.js';
import { maskUrl } from '../../core/secrets.js';

export interface Frame {
  camera: string;
  seq: number;
  /** When the frame came out of the decoder (ms since epoch). */
  at: number;
  width: number;
  height: number;
  /** rgb24, width × height × 3 bytes, row after row. */
  data: Buffer;
}

export type SourceState = 'starting' | 'streaming' | 'stalled' | 'reconnecting' | 'stopped';

export interface SourceHealth {
  state: SourceState;
  connected: boolean;
  /** Frames per second decoded over the last few seconds. */
  fpsIn: number;
  frames: number;
  restarts: number;
  stalls: number;
  lastError?: string;
  lastFrameAt?: string;
}

export interface FrameSourceOptions {
  camera: string;
  width: number;
  height: number;
  fps: number;
  /** No frame for this long while connected: the stream is stalled and is restarted. */
  stallMs?: number;
  /** The first frame after (re)connecting may take this long (RTSP setup, probing, a keyframe). */
  firstFrameMs?: number;
  /** First wait before reconnecting; doubles to maxBackoffMs, and resets once frames flow. */
  backoffMs?: number;
  maxBackoffMs?: number;
  ffmpegPath?: string;
}

/** What both sources share: health, fps, backoff and the frame hand-off. */
abstract class FrameSourceBase extends EventEmitter {
  protected state: SourceState = 'stopped';
  protected frames = 0;
  protected restarts = 0;
  protected stalls = 0;
  protected lastError?: string;
  protected lastFrameAt = 0;
  protected running = false;
  private attempt = 0;
  private readonly recent: number[] = [];
  private retryTimer?: NodeJS.Timeout;

  constructor(protected readonly opts: FrameSourceOptions) {
    super();
    if (!(opts.fps > 0 && opts.fps <= 30)) throw new Error(`camera ${opts.camera}: fps must be above 0 and at most 30`);
    if (
      !Number.isInteger(opts.width) ||
      !Number.isInteger(opts.height) ||
      opts.width < 16 ||
      opts.height < 16 ||
      opts.width > 4096 ||
      opts.height > 4096
    ) {
      throw new Error(`camera ${opts.camera}: frame size ${opts.width}x${opts.height} out of range (16..4096)`);
    }
  }

  get frameBytes(): number {
    return this.opts.width * this.opts.height * 3;
  }

  health(): SourceHealth {
    const now = Date.now();
    while (this.recent.length && this.recent[0]! < now - 5000) this.recent.shift();
    const window = Math.min(5000, Math.max(1000, now - (this.recent[0] ?? now)));
    return {
      state: this.state,
      connected: this.state === 'streaming',
      fpsIn: this.recent.length ? Math.round((this.recent.length / (window / 1000)) * 100) / 100 : 0,
      frames: this.frames,
      restarts: this.restarts,
      stalls: this.stalls,
      lastError: this.lastError,
      lastFrameAt: this.lastFrameAt ? new Date(this.lastFrameAt).toISOString() : undefined,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.state = 'starting';
    this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.state = 'stopped';
    await this.close();
  }

  protected abstract open(): void;
  protected abstract close(): Promise<void>;

  protected deliver(data: Buffer): void {
    const at = Date.now();
    this.frames++;
    this.lastFrameAt = at;
    this.recent.push(at);
    this.attempt = 0;
    this.state = 'streaming';
    const frame: Frame = { camera: this.opts.camera, seq: this.frames, at, width: this.opts.width, height: this.opts.height, data };
    this.emit('frame', frame);
  }

  /** The source failed or ended: note why, and open it again after a backoff. */
  protected retry(error: string): void {
    this.lastError = error;
    if (!this.running) return;
    this.state = 'reconnecting';
    const base = this.opts.backoffMs ?? 1000;
    const delay = Math.min(base * 2 ** this.attempt, this.opts.maxBackoffMs ?? 30_000);
    this.attempt++;
    this.emit('retry', { error, delayMs: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.running) return;
      this.restarts++;
      this.open();
    }, delay);
  }
}

/**
 * Pulls RTSP over TCP through ffmpeg: `fps` and `scale` filters, rgb24 out on a pipe. The pipe's
 * chunks are cut into frames with one copy at most (a chunk holding a whole frame is handed over
 * as a view, without copying).
 */
export class RtspFrameSource extends FrameSourceBase {
  private command?: ffmpeg.FfmpegCommand;
  private proc?: ChildProcess;
  private watchdog?: NodeJS.Timeout;
  private openedAt = 0;
  private generation = 0;

  constructor(
    private readonly url: string,
    opts: FrameSourceOptions,
  ) {
    super(opts);
    if (!/^rtsps?:\/\//i.test(url)) throw new Error(`camera ${opts.camera}: stream "${maskUrl(url)}" is not an rtsp:// URL`);
  }

  protected open(): void {
    const gen = ++this.generation;
    const { width, height, fps } = this.opts;
    const size = this.frameBytes;
    let pending: Buffer | undefined;
    let filled = 0;
    let stderr = '';
    const cmd = ffmpeg(this.url)
      // A short probe: the stream is video we asked for, and a long one delays every reconnect.
      .inputOptions([
        '-rtsp_transport',
        'tcp',
        '-timeout',
        String((this.opts.stallMs ?? 10_000) * 1000),
        '-analyzeduration',
        '1000000',
        '-probesize',
        '262144',
      ])
      .outputOptions([
        '-loglevel',
        'error',
        '-an',
        '-sn',
        '-vf',
        `fps=${fps},scale=${width}:${height}`,
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        '-threads',
        '1',
      ]);
    if (this.opts.ffmpegPath) cmd.setFfmpegPath(this.opts.ffmpegPath);
    cmd.on('start', () => {
      this.proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
    });
    cmd.on('stderr', (line: string) => (stderr = line));
    cmd.on('error', (err: Error) => {
      if (gen !== this.generation) return;
      this.stopWatchdog();
      this.retry(`stream ended: ${cleanError(err.message, stderr)}`);
    });
    cmd.on('end', () => {
      if (gen !== this.generation) return;
      this.stopWatchdog();
      this.retry('stream ended by the camera');
    });
    const out = cmd.pipe();
    out.on('data', (chunk: Buffer) => {
      if (gen !== this.generation) return;
      let off = 0;
      while (off < chunk.length) {
        if (!pending && filled === 0 && chunk.length - off >= size) {
          this.deliver(chunk.subarray(off, off + size));
          off += size;
          continue;
        }
        pending ??= Buffer.allocUnsafe(size);
        const n = Math.min(size - filled, chunk.length - off);
        chunk.copy(pending, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === size) {
          this.deliver(pending);
          pending = undefined;
          filled = 0;
        }
      }
    });
    this.command = cmd;
    this.openedAt = Date.now();
    this.startWatchdog(gen);
  }

  /** A stream that stays connected but sends nothing is restarted after stallMs. */
  private startWatchdog(gen: number): void {
    const stallMs = this.opts.stallMs ?? 10_000;
    this.stopWatchdog();
    this.watchdog = setInterval(
      () => {
        if (gen !== this.generation || !this.running) return;
        const since = Math.max(this.lastFrameAt, this.openedAt);
        const limit = this.lastFrameAt >= this.openedAt ? stallMs : (this.opts.firstFrameMs ?? Math.max(stallMs, 10_000));
        if (Date.now() - since < limit) return;
        this.stalls++;
        this.state = 'stalled';
        this.emit('stall', { sinceMs: Date.now() - since });
        this.stopWatchdog();
        this.kill();
        this.retry(`stalled: no frame for ${Math.round((Date.now() - since) / 1000)} s`);
      },
      Math.max(200, stallMs / 4),
    );
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private kill(): void {
    this.generation++;
    try {
      this.command?.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  protected async close(): Promise<void> {
    this.stopWatchdog();
    const proc = this.proc;
    this.kill();
    if (proc && proc.exitCode === null && proc.signalCode === null)
      await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  }

  /** The ffmpeg child (for CPU accounting in benchmarks). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
}

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
  const u = new URL(url);
  const path = `${u.pathname}${u.search}`;
  const get = (authorization?: string) =>
    fetch(url, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(timeoutMs) });
  let res: Response;
  try {
    res = await get();
    const challenge = res.headers.get('www-authenticate');
    if (res.status === 401 && challenge && user) {
      await res.arrayBuffer();
      res = await get(
        /^Digest/i.test(challenge)
          ? digestAuthorization(challenge, user, password, 'GET', path)
          : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      );
    }
  } catch (err) {
    throw new Error(`snapshot ${maskUrl(url)}: ${(err as Error).message}`);
  }
  if (res.status === 401) throw new Error(`snapshot ${maskUrl(url)}: the camera refused the credentials`);
  if (!res.ok) throw new Error(`snapshot ${maskUrl(url)}: HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^image\//.test(type)) throw new Error(`snapshot ${maskUrl(url)}: not an image (${type || 'no content type'})`);
  return Buffer.from(await res.arrayBuffer());
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

/** Hides credentials in a URL before it reaches a log or the API. */

function cleanError(message: string, lastStderr: string): string {
  const m =
    message
      .replace(/^ffmpeg exited with code \d+: ?/, '')
      .split('\n')
      .filter(Boolean)
      .pop() ?? message;
  return maskUrl(m || lastStderr || message);
}
