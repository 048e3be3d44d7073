/**
 * A TCP proxy the simulator can cut: put it between a gateway and its upstream broker (or its
 * series server) and the scenario takes that server "down" for a while, as a real outage does:
 * open connections are reset and new ones refused until it comes back.
 */
import net from 'node:net';

export interface ProxyAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:18830=127.0.0.1:1883`: listen on the left, forward to the right. */
export function parseProxySpec(spec: string): { listen: ProxyAddress; target: ProxyAddress } {
  const m = /^([^:=\s]+):(\d{1,5})=([^:=\s]+):(\d{1,5})$/.exec(spec);
  if (!m) throw new Error(`'${spec}' is not LISTEN_HOST:PORT=TARGET_HOST:PORT`);
  return { listen: { host: m[1]!, port: Number(m[2]) }, target: { host: m[3]!, port: Number(m[4]) } };
}

export class FaultProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private downUntil = 0;
  private timer?: NodeJS.Timeout;
  /** Connections refused or reset while down. */
  cut = 0;

  constructor(private readonly opts: { listen: ProxyAddress; target: ProxyAddress; name: string }) {}

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.opts.listen.port;
  }

  get down(): boolean {
    return Date.now() < this.downUntil;
  }

  start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (this.down) {
        this.cut++;
        client.destroy();
        return;
      }
      const upstream = net.connect(this.opts.target.port, this.opts.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.listen.port, this.opts.listen.host, () => resolve());
    });
  }

  /** Takes the server away for `seconds`: resets every open connection, refuses new ones. */
  outage(seconds: number): void {
    this.downUntil = Date.now() + seconds * 1000;
    for (const s of this.sockets) {
      this.cut++;
      s.resetAndDestroy();
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.downUntil = 0), seconds * 1000);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
