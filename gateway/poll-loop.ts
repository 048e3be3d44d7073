/**
 * The round loop of a platform API poller (OneNET, CTWing): a round at once, then one every
 * `everySeconds` after the last one ended (never two at a time), and a stop that waits for the
 * round under way.
 */
export abstract class PollLoop {
  private timer?: NodeJS.Timeout;
  protected stopped = false;
  private round?: Promise<void>;

  constructor(private readonly everySeconds: number) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round over the platform's devices. */
  protected abstract poll(): Promise<void>;

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.poll().finally(() => this.schedule(this.everySeconds * 1000));
    }, ms);
    this.timer.unref();
  }
}
