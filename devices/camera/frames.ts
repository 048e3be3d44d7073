/**
 * Frames from a camera, decoded to raw RGB at the detector's size and rate. ffmpeg decodes, run
 * through fluent-ffmpeg (kept behind this one module: its repository was archived in 2025, so it
 * must stay swappable), from an RTSP URL or from a byte stream the gateway receives itself (the
 * MPEG-PS of a GB/T 28181 channel). The snapshot poller (snapshot.ts) is the fallback for cameras
 * without a usable stream. All reconnect with backoff and keep the health the API shows.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
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
export abstract class FrameSourceBase extends EventEmitter {
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
 * A byte stream ffmpeg can demux (`format`, e.g. `mpeg` for a GB/T 28181 PS stream), opened when
 * the source starts or restarts, and closed when it stops or stalls (a BYE, a port released).
 */
export interface MediaFeed {
  stream: Readable;
  format: string;
  close(): Promise<void>;
}
export type FeedOpener = () => Promise<MediaFeed>;

/**
 * Decodes through ffmpeg: `fps` and `scale` filters, rgb24 out on a pipe, from an RTSP URL
 * (over TCP) or a feed. The pipe's chunks are cut into frames with one copy at most (a chunk
 * holding a whole frame is handed over as a view, without copying).
 */
export class RtspFrameSource extends FrameSourceBase {
  private command?: ffmpeg.FfmpegCommand;
  private proc?: ChildProcess;
  private feed?: MediaFeed;
  private watchdog?: NodeJS.Timeout;
  private openedAt = 0;
  private generation = 0;

  constructor(
    private readonly input: string | FeedOpener,
    opts: FrameSourceOptions,
  ) {
    super(opts);
    if (typeof input === 'string' && !/^rtsps?:\/\//i.test(input))
      throw new Error(`camera ${opts.camera}: stream "${maskUrl(input)}" is not an rtsp:// URL`);
  }

  protected open(): void {
    const gen = ++this.generation;
    this.openedAt = Date.now();
    this.startWatchdog(gen);
    if (typeof this.input === 'string') {
      this.decode(
        gen,
        ffmpeg(this.input).inputOptions(['-rtsp_transport', 'tcp', '-timeout', String((this.opts.stallMs ?? 10_000) * 1000)]),
      );
      return;
    }
    this.input().then(
      (feed) => {
        if (gen !== this.generation || !this.running) {
          void feed.close();
          return;
        }
        this.feed = feed;
        // A stream map comes with each key frame: a second of probing finds the codec; the default five
        // (and 5 MB) would hold a quiet low-rate channel back for longer than the stall watchdog waits.
        this.decode(
          gen,
          ffmpeg(feed.stream).inputFormat(feed.format).inputOptions(['-analyzeduration', '1000000', '-probesize', '262144']),
        );
      },
      (err: Error) => {
        if (gen !== this.generation) return;
        this.stopWatchdog();
        this.retry(err.message);
      },
    );
  }

  private decode(gen: number, cmd: ffmpeg.FfmpegCommand): void {
    const { width, height, fps } = this.opts;
    const size = this.frameBytes;
    let pending: Buffer | undefined;
    let filled = 0;
    let stderr = '';
    // A short probe: the stream is video we asked for, and a long one delays every reconnect.
    cmd
      .inputOptions(['-analyzeduration', '1000000', '-probesize', '262144'])
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
      void this.closeFeed();
      this.retry(`stream ended: ${cleanError(err.message, stderr)}`);
    });
    cmd.on('end', () => {
      if (gen !== this.generation) return;
      this.stopWatchdog();
      void this.closeFeed();
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
  }

  /** The feed's own end (a BYE, its port released): once, whoever asks first. */
  private closeFeed(): Promise<void> {
    const feed = this.feed;
    this.feed = undefined;
    return feed ? feed.close().catch(() => undefined) : Promise.resolve();
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
        void this.kill();
        this.retry(`stalled: no frame for ${Math.round((Date.now() - since) / 1000)} s`);
      },
      Math.max(200, stallMs / 4),
    );
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private kill(): Promise<void> {
    this.generation++;
    try {
      this.command?.kill('SIGKILL');
    } catch {
      // already gone
    }
    return this.closeFeed();
  }

  protected async close(): Promise<void> {
    this.stopWatchdog();
    const proc = this.proc;
    await this.kill();
    if (proc && proc.exitCode === null && proc.signalCode === null)
      await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  }

  /** The ffmpeg child (for CPU accounting in benchmarks). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }
}

function cleanError(message: string, lastStderr: string): string {
  const m =
    message
      .replace(/^ffmpeg exited with code \d+: ?/, '')
      .split('\n')
      .filter(Boolean)
      .pop() ?? message;
  return maskUrl(m || lastStderr || message);
}
