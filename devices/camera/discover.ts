/**
 * Finds ONVIF cameras with a WS-Discovery Probe. By default the probe goes to the multicast group
 * of the local segment, as every ONVIF tool does; `targets` sends it unicast to given addresses
 * instead, for camera networks behind a router where multicast does not pass (and for tests).
 * node-onvif's own probe is multicast-only, which is why this part is ours.
 */
import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { DISCOVERY_MULTICAST, DISCOVERY_PORT, probeMessage, readProbeMatches, type ProbeMatch } from './ws-discovery.js';

export interface DiscoverOptions {
  /** host or host:port; default the multicast group on port 3702. */
  targets?: string[];
  timeoutMs?: number;
  /** Probes are UDP: send each this many times, spread over the first part of the wait. */
  repeats?: number;
  onProgress?: (p: { elapsedMs: number; timeoutMs: number; found: number; latest?: ProbeMatch }) => void;
}

export function parseTarget(target: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(target.trim());
  if (!m) throw new Error(`discovery target "${target}" is not host or host:port`);
  const port = m[2] ? Number(m[2]) : DISCOVERY_PORT;
  if (port < 1 || port > 65535) throw new Error(`discovery target "${target}": port out of range`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Probes and collects distinct cameras (by endpoint reference) until the timeout. */
export async function discover(opts: DiscoverOptions = {}): Promise<ProbeMatch[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const targets = (opts.targets?.length ? opts.targets : [`${DISCOVERY_MULTICAST}:${DISCOVERY_PORT}`]).map(parseTarget);
  const repeats = Math.max(1, opts.repeats ?? 2);
  const messageId = `urn:uuid:${randomUUID()}`;
  const probe = Buffer.from(probeMessage(messageId));
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  const found = new Map<string, ProbeMatch>();
  const started = Date.now();
  const timers: NodeJS.Timeout[] = [];

  return new Promise<ProbeMatch[]>((resolve, reject) => {
    const finish = () => {
      timers.forEach(clearTimeout);
      clearInterval(progress);
      socket.close();
      resolve([...found.values()]);
    };
    const report = (latest?: ProbeMatch) => opts.onProgress?.({ elapsedMs: Date.now() - started, timeoutMs, found: found.size, latest });
    const progress = setInterval(() => report(), 1000);
    socket.on('message', (buf, rinfo) => {
      for (const m of readProbeMatches(buf.toString('utf8'), messageId, `${rinfo.address}:${rinfo.port}`)) {
        if (found.has(m.urn)) continue;
        found.set(m.urn, m);
        report(m);
      }
    });
    socket.once('error', (err) => {
      timers.forEach(clearTimeout);
      clearInterval(progress);
      socket.close();
      reject(new Error(`discovery failed: ${err.message}`));
    });
    socket.bind(0, () => {
      for (let i = 0; i < repeats; i++) {
        timers.push(
          setTimeout(
            () => {
              for (const t of targets) socket.send(probe, t.port, t.host);
            },
            (i * timeoutMs) / (2 * repeats),
          ),
        );
      }
      timers.push(setTimeout(finish, timeoutMs));
    });
  });
}
