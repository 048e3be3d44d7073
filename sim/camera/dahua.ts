/**
 * A Dahua camera's HTTP API as its firmware serves it, behind HTTP Digest (realm "Login to
 * <serial>"): `GET /cgi-bin/eventManager.cgi?action=attach&codes=[…]&heartbeat=N` answered with
 * a never-ending `multipart/x-mixed-replace; boundary=myboundary` of text/plain parts —
 * `Code=…;action=Start|Stop|Pulse;index=N[;data={…}]`, pretty-printed JSON as the firmware writes
 * it, and `Heartbeat` every N seconds — only for the codes asked for (`[All]`: every one); and
 * `GET /cgi-bin/snapshot.cgi?channel=N`, a JPEG. `wrongLength` writes `Content-Length: 0` on
 * every part, as some firmware does.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestGate } from '../http.js';
import { DigestAuth } from '../../core/http-digest.js';

export interface SimDahuaOptions {
  host?: string;
  port?: number;
  user?: string;
  password: string;
  /** The snapshot every channel answers (a JPEG). */
  snapshot: Buffer;
  wrongLength?: boolean;
  serial?: string;
}

export class SimulatedDahuaCamera {
  private server?: http.Server;
  private readonly streams = new Map<http.ServerResponse, { codes: Set<string> | 'all'; timer: NodeJS.Timeout }>();
  private readonly auth: DigestAuth;
  private readonly realm: string;
  port = 0;
  /** Requests refused for their credentials; snapshots served. */
  refused = 0;
  snapshots = 0;

  constructor(private readonly opts: SimDahuaOptions) {
    const user = opts.user ?? 'admin';
    this.realm = `Login to ${opts.serial ?? '5J0A1B2PAZ12345'}`;
    this.auth = new DigestAuth(this.realm, (u) =>
      u === user ? createHash('md5').update(`${u}:${this.realm}:${opts.password}`).digest('hex') : undefined,
    );
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => r()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** An event on channel `index` (from 0), to every stream that asked for its code. */
  send(code: string, action: 'Start' | 'Stop' | 'Pulse', index = 0, data?: Record<string, unknown>): void {
    const text = `Code=${code};action=${action};index=${index}${data ? `;data=${JSON.stringify(data, null, 3)}` : ''}`;
    for (const [res, s] of this.streams) if (s.codes === 'all' || s.codes.has(code)) this.write(res, text);
  }

  /** Raw text as one part (a garbled or cut-short event, as some firmware writes). */
  sendRaw(text: string): void {
    for (const res of this.streams.keys()) this.write(res, text);
  }

  /** A plate read at the junction (ITC cameras): TrafficJunction Pulse with the vehicle's data. */
  plate(plate: string, color = 'Blue', index = 0): void {
    const utc = Date.now() / 1000;
    this.send('TrafficJunction', 'Pulse', index, {
      Class: 'Normal',
      CountInGroup: 1,
      GroupID: 1,
      IndexInGroup: 0,
      LocaleTime: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '),
      Lane: 1,
      Name: 'TrafficJunction',
      Object: { Action: 'Appear', BoundingBox: [2048, 4096, 3072, 4608], Category: 'Normal', ObjectType: 'Plate', Text: plate },
      TrafficCar: { PlateNumber: plate, PlateColor: color, PlateType: 'Normal', VehicleColor: 'White', CarType: 'Saloon' },
      UTC: Math.floor(utc),
      UTCMS: Math.round((utc % 1) * 1000),
    });
  }

  /** Closes every open event stream, as a camera that reboots does. */
  dropStreams(): void {
    for (const [res, s] of this.streams) {
      clearInterval(s.timer);
      res.destroy();
    }
    this.streams.clear();
  }

  async stop(): Promise<void> {
    this.dropStreams();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private write(res: http.ServerResponse, text: string): void {
    const body = Buffer.from(`${text}\r\n`);
    const length = this.opts.wrongLength ? 0 : body.length;
    res.write(Buffer.concat([Buffer.from(`--myboundary\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n`), body]));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!digestGate(this.auth, req, res, () => this.refused++)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/cgi-bin/magicBox.cgi') {
      const action = url.searchParams.get('action');
      const answers: Record<string, string> = {
        getSystemInfo:
          'deviceType=IPC-HFW4431R-Z\r\nprocessor=S2L55M\r\n' +
          `serialNumber=${this.opts.serial ?? '5J0A1B2PAZ12345'}\r\nupdateSerial=IPC-HFW4431R-Z\r\n`,
        getSoftwareVersion: 'version=2.420.0000.0.R,build:2016-09-29\r\n',
      };
      const answer = action ? answers[action] : undefined;
      if (!answer) res.writeHead(400, { 'content-type': 'text/plain' }).end('Error\r\nBad Request!\r\n');
      else res.writeHead(200, { 'content-type': 'text/plain;charset=utf-8' }).end(answer);
      return;
    }
    if (url.pathname === '/cgi-bin/snapshot.cgi') {
      this.snapshots++;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': this.opts.snapshot.length }).end(this.opts.snapshot);
      return;
    }
    if (url.pathname !== '/cgi-bin/eventManager.cgi' || url.searchParams.get('action') !== 'attach') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error\r\nBad Request!\r\n');
      return;
    }
    const listed = /^\[(.*)\]$/.exec(url.searchParams.get('codes') ?? '')?.[1];
    if (listed === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error\r\nBad Request!\r\n');
      return;
    }
    const codes = listed === 'All' ? 'all' : new Set(listed.split(','));
    const beat = Math.max(1, Number(url.searchParams.get('heartbeat') ?? 60));
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=myboundary', connection: 'close' });
    res.flushHeaders(); // the camera answers at once; its first part may be a heartbeat away
    const timer = setInterval(() => this.write(res, 'Heartbeat'), beat * 1000);
    this.streams.set(res, { codes, timer });
    res.on('close', () => {
      clearInterval(timer);
      this.streams.delete(res);
    });
  }
}
