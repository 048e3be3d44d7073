/**
 * Runs the simulated camera's RTSP server (sim/camera/rtsp_server.py, Debian's GStreamer RTSP
 * server) and steers it: which scene it shows, stalls, crashes and restarts for fault tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../../core/package.js';

const INSTALL_HINT = ' — install python3-gi and gir1.2-gst-rtsp-server-1.0';

/** The interpreter with GObject bindings: Debian's, not whichever python3 is first on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(PACKAGE_ROOT, 'sim', 'camera', 'rtsp_server.py');

export interface RtspOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  path: string;
  fps: number;
  codec: 'h264' | 'mjpeg';
  /** The first scene's pictures (JPEG files, shown in turn). */
  firstScene: string[];
}

export class RtspStream {
  private child?: ChildProcess;
  private scene: string[];
  port: number;

  constructor(private readonly opts: RtspOptions) {
    this.scene = opts.firstScene;
    this.port = opts.port;
  }

  get url(): string {
    return `rtsp://${this.opts.host}:${this.port}${this.opts.path}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (!existsSync(SYSTEM_PYTHON))
      throw new Error(
        `the simulated camera's RTSP server needs ${SYSTEM_PYTHON} with GStreamer bindings (Debian packages python3-gi, ` +
          `gir1.2-gst-rtsp-server-1.0)`,
      );
    const args = [
      SCRIPT,
      '--host',
      this.opts.host,
      '--port',
      String(this.port),
      '--path',
      this.opts.path,
      '--fps',
      String(this.opts.fps),
      '--codec',
      this.opts.codec,
      '--scene',
      this.scene.join('\t'),
    ];
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RTSP server did not start in 10 s: ${stderr.trim()}`)), 10_000);
      lines.on('line', (line) => {
        const [word, rest] = [line.split(' ')[0], line.slice(line.indexOf(' ') + 1)];
        if (word === 'ready') {
          clearTimeout(timer);
          resolve(Number(rest));
        } else if (word === 'error') {
          clearTimeout(timer);
          reject(new Error(`RTSP server: ${rest}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `RTSP server exited (${signal ?? code}) before it was ready: ` +
              `${stderr.trim() || 'no output'}${/gi|GstRtspServer|Namespace/.test(stderr) ? INSTALL_HINT : ''}`,
          ),
        );
      });
    });
    this.port = port;
  }

  show(files: string[]): void {
    if (files.some((f) => /[\t\n]/.test(f))) throw new Error('scene file names must not hold tabs or newlines');
    this.scene = files;
    this.command(`scene ${files.join('\t')}`);
  }

  /** The encoder stops sending frames; the RTSP connection stays up (a hung camera). */
  stall(): void {
    this.command('stall');
  }

  resume(): void {
    this.command('resume');
  }

  /** Kills the server outright (a camera losing power). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.command('quit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private command(line: string): void {
    if (this.running) this.child!.stdin!.write(`${line}\n`);
  }
}
