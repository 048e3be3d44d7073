/**
 * The gateway's parts as services, in the style of zigbee2mqtt's extensions: each owns its
 * timers and connections and has its own start and stop; the gateway starts them in one ordered
 * list and stops them in the reverse order, so what feeds a stage stops before the stage does.
 */
import type { Logger } from '../core/log.js';

export interface Service {
  readonly name: string;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

export class Services {
  private started: Service[] = [];

  constructor(
    private readonly list: readonly Service[],
    private readonly log: Logger,
  ) {}

  /** Starts each in order; if one fails, those already started are stopped again and the error is thrown. */
  async start(): Promise<void> {
    for (const s of this.list) {
      try {
        await s.start?.();
      } catch (err) {
        await this.stop();
        throw err;
      }
      this.started.push(s);
    }
  }

  /**
   * Stops what was started, last first, within `withinMs` in all: a service that fails to stop,
   * or takes longer than the time left, is logged and the rest still stop (a stop under systemd
   * must not end in a SIGKILL because one client hangs on).
   */
  async stop(withinMs = 5000): Promise<void> {
    const started = this.started.reverse();
    this.started = [];
    const deadline = Date.now() + withinMs;
    for (const s of started) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), Math.max(100, deadline - Date.now()));
      });
      try {
        const outcome = await Promise.race([Promise.resolve(s.stop?.()).then(() => 'stopped' as const), late]);
        if (outcome === 'late') this.log.error({ service: s.name, withinMs }, 'service did not stop in time; going on without it');
      } catch (err) {
        this.log.error({ service: s.name, err: (err as Error).message }, 'service did not stop cleanly');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/**
 * A job run every `ms` while the gateway runs. `leading` says whether this node does the
 * gateway's shared work now (always, except on the standby node of an HA pair); a job that is
 * the leader's only is skipped on the other node. Failures are logged, never thrown.
 */
export function every(
  name: string,
  ms: number,
  job: () => Promise<unknown> | unknown,
  opts: { log: Logger; leading?: () => boolean },
): Service {
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    if (opts.leading && !opts.leading()) return;
    Promise.resolve()
      .then(job)
      .catch((err: unknown) => opts.log.warn({ job: name, err: (err as Error).message }, `${name} failed`));
  };
  return {
    name,
    start: () => {
      timer = setInterval(run, ms);
      timer.unref();
    },
    stop: () => clearInterval(timer),
  };
}
