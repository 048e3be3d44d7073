/**
 * A simulated upper platform (上级平台) for the gateway's cascade: what a city's video platform
 * is to a community. It is the gateway's own SIP server side with the gateway listed as its one
 * device: it challenges and takes the gateway's REGISTER, watches its keepalives, asks for its
 * catalog, device info and status once it registers, takes its alarms, and INVITEs its channels
 * for video. The SIPp test (an upper platform we did not write) checks the same exchange.
 */
import { Counters } from '../../core/counters.js';
import { createLogger, type Logger } from '../../core/log.js';
import type { GbAlarm } from '../../devices/gb28181/alarm.js';
import type { Gb28181Settings, MediaTransport } from '../../devices/gb28181/config.js';
import { LiveVideo } from '../../devices/gb28181/live.js';
import { PortPool } from '../../devices/gb28181/media/receiver.js';
import { Gb28181Service } from '../../devices/gb28181/service.js';

export interface SimPlatformOptions {
  sipId: string;
  /** The lower platform (the gateway) it takes, and the password it gave it. */
  lower: { id: string; password: string };
  host?: string;
  port?: number;
  media?: { portMin: number; portMax: number; transport: MediaTransport };
  log?: Logger;
}

export class SimulatedPlatform {
  readonly service: Gb28181Service;
  readonly live: LiveVideo;
  readonly alarms: GbAlarm[] = [];
  readonly counters = new Counters();

  constructor(readonly opts: SimPlatformOptions) {
    const log = opts.log ?? createLogger('silent');
    const media = opts.media ?? { portMin: 34000, portMax: 34999, transport: 'udp' as const };
    const settings: Gb28181Settings = {
      sipId: opts.sipId,
      domain: opts.sipId.slice(0, 10),
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      transports: ['udp', 'tcp'],
      publicHost: opts.host ?? '127.0.0.1',
      minExpires: 60,
      maxExpires: 86_400,
      keepaliveSeconds: 60,
      acceptUnlisted: false,
      media,
      limits: { registersPerMinute: 600, invitesPerMinute: 600, messagesPerMinute: 60_000, maxStreams: 16 },
      devices: [
        { id: opts.lower.id, grid: '000000000000000', password: opts.lower.password, guard: false, subscribeAlarms: false, channels: [] },
      ],
      cascade: [],
      timezone: 'Asia/Shanghai',
      grid: '000000000000000',
    };
    this.service = new Gb28181Service(settings, { counters: this.counters, log });
    this.live = new LiveVideo(this.service, {
      pool: new PortPool(media.portMin, media.portMax),
      bindHost: settings.host,
      maxStreams: 16,
      counters: this.counters,
      log,
    });
    this.service.on('alarm', (a) => this.alarms.push(a));
  }

  start(): Promise<number> {
    return this.service.start();
  }

  async stop(): Promise<void> {
    await this.live.stop();
    await this.service.stop();
  }

  /** What it knows of the gateway: registered, its catalog, info and status. */
  lower() {
    return this.service.view(this.opts.lower.id);
  }
}
