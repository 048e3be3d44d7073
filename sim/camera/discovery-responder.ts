/** The simulated camera's WS-Discovery side: answers Probes (unicast, or multicast when joined). */
import { createSocket, type Socket } from 'node:dgram';
import { DISCOVERY_MULTICAST, probeMatchesMessage, readProbe } from '../../devices/camera/ws-discovery.js';

export interface ResponderOptions {
  host: string;
  port: number;
  urn: string;
  xaddrs: () => string[];
  scopes: string[];
  /** Join the ONVIF multicast group (only meaningful on a real interface). */
  multicast?: boolean;
}

export class DiscoveryResponder {
  private socket?: Socket;
  probes = 0;
  port = 0;

  constructor(private readonly opts: ResponderOptions) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (buf, rinfo) => {
      const probe = readProbe(buf.toString('utf8'));
      if (!probe) return;
      this.probes++;
      const answer = Buffer.from(
        probeMatchesMessage(probe.messageId, { urn: this.opts.urn, xaddrs: this.opts.xaddrs(), scopes: this.opts.scopes }),
      );
      socket.send(answer, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, this.opts.host, () => {
        socket.removeListener('error', reject);
        if (this.opts.multicast) socket.addMembership(DISCOVERY_MULTICAST);
        resolve();
      });
    });
    this.port = socket.address().port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
