/**
 * Worker threads that run the detectors. Jobs wait in one FIFO for the next idle worker; each
 * camera has at most one frame here at a time (the camera stage holds the rest in its own
 * drop-oldest queue), so the wait is bounded by the number of cameras. A worker that dies is
 * replaced and its job fails; the camera's next frame goes on.
 */
import { Worker } from 'node:worker_threads';
import type { Detection, RgbImage } from '../types.js';
import type { DetectorSet } from '../registry.js';
import type { DetectJob, DetectReply } from './worker.js';

export interface PoolResult {
  detections: Detection[];
  /** Milliseconds per detector inside the worker. */
  ms: Record<string, number>;
  /** Milliseconds the job waited for a free worker. */
  waitMs: number;
}

export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  jobs: number;
  failures: number;
  restarts: number;
  /** Mean milliseconds per detector over the last jobs. */
  meanMs: Record<string, number>;
}

interface Pending {
  job: DetectJob;
  queuedAt: number;
  waitMs?: number;
  resolve: (r: PoolResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker?: Worker;
  job?: Pending;
  startedAt: number;
  /** Exits in a row soon after starting: the worker cannot start, so wait longer each time. */
  quickExits: number;
  timer?: NodeJS.Timeout;
}

export class DetectorPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private seq = 0;
  private stopped = false;
  private readonly totals = { jobs: 0, failures: 0, restarts: 0 };
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly opts: { workers: number; onError?: (err: Error) => void }) {
    if (!(opts.workers >= 1)) throw new Error('the detector pool needs at least one worker');
  }

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) {
      this.slots.push({ startedAt: 0, quickExits: 0 });
      this.spawn(i);
    }
  }

  detect(camera: string, image: RgbImage, detectors: DetectorSet): Promise<PoolResult> {
    if (this.stopped || !this.slots.length) return Promise.reject(new Error('the detector pool is not running'));
    // One copy into a buffer of its own, handed over (transferred) to the worker.
    const data = new ArrayBuffer(image.data.byteLength);
    new Uint8Array(data).set(image.data);
    return new Promise((resolve, reject) => {
      this.queue.push({
        job: { seq: ++this.seq, camera, width: image.width, height: image.height, data, detectors },
        queuedAt: performance.now(),
        resolve,
        reject,
      });
      this.dispatch();
    });
  }

  stats(): PoolStats {
    const meanMs: Record<string, number> = {};
    for (const [k, v] of this.recent) meanMs[k] = Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 10) / 10;
    return {
      workers: this.slots.filter((s) => s.worker).length,
      busy: this.slots.filter((s) => s.job).length,
      queued: this.queue.length,
      ...this.totals,
      meanMs,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the detector pool stopped'));
    await Promise.all(
      this.slots.map(async (s) => {
        clearTimeout(s.timer);
        const worker = s.worker;
        if (!worker) return;
        // Asked to leave after the frame in hand; forced only if it does not within 10 s.
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.postMessage({ type: 'stop' });
        const timer = setTimeout(() => void worker.terminate(), 10_000);
        await exited;
        clearTimeout(timer);
        // Answered before leaving, the frame in hand resolved normally; otherwise it fails here.
        s.job?.reject(new Error('the detector pool stopped'));
        s.job = undefined;
        s.worker = undefined;
      }),
    );
    this.slots.length = 0;
  }

  private spawn(index: number): void {
    const slot = this.slots[index]!;
    // From source (tests, tsx) the worker is TypeScript and needs tsx's loader; built, it is plain JS.
    const ts = import.meta.url.endsWith('.ts');
    const worker = new Worker(new URL(ts ? './worker-dev.mjs' : './worker.js', import.meta.url), { name: `detectors-${index}` });
    worker.on('message', (reply: DetectReply) => this.done(index, reply));
    worker.on('error', (err) => this.opts.onError?.(err));
    worker.on('exit', (code) => this.exited(index, worker, code));
    slot.worker = worker;
    slot.startedAt = performance.now();
    this.dispatch();
  }

  private exited(index: number, worker: Worker, code: number): void {
    const slot = this.slots[index];
    if (this.stopped || !slot || slot.worker !== worker) return;
    slot.worker = undefined;
    if (slot.job) {
      this.totals.failures++;
      slot.job.reject(new Error(`detector worker exited (code ${code}) during the job`));
      slot.job = undefined;
    }
    this.totals.restarts++;
    slot.quickExits = performance.now() - slot.startedAt < 10_000 ? slot.quickExits + 1 : 0;
    const delay = slot.quickExits ? Math.min(30_000, 500 * 2 ** (slot.quickExits - 1)) : 0;
    slot.timer = setTimeout(() => this.spawn(index), delay);
    slot.timer.unref();
    // Frames waiting for this worker fail now rather than wait for a worker that may not come.
    if (!this.slots.some((s) => s.worker)) for (const p of this.queue.splice(0)) p.reject(new Error('no detector worker is running'));
  }

  private done(index: number, reply: DetectReply): void {
    const slot = this.slots[index];
    const p = slot?.job;
    if (!slot || !p || p.job.seq !== reply.seq) return;
    slot.job = undefined;
    this.totals.jobs++;
    if ('error' in reply) {
      this.totals.failures++;
      p.reject(new Error(reply.error));
    } else {
      for (const [k, v] of Object.entries(reply.ms)) {
        const list = this.recent.get(k) ?? [];
        list.push(v);
        if (list.length > 50) list.shift();
        this.recent.set(k, list);
      }
      p.resolve({ detections: reply.detections, ms: reply.ms, waitMs: p.waitMs ?? 0 });
    }
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || !slot.worker) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.job = next;
      next.waitMs = performance.now() - next.queuedAt;
      slot.worker.postMessage(next.job, [next.job.data]);
    }
  }
}
