/**
 * A simulated lower GA/T 1400 system (a district 视图库, an NVR platform) that the gateway
 * subscribes to: it serves `POST /VIID/Subscribes` behind HTTP Digest (the gateway signs in as
 * its VIIDServerID), keeps the subscriptions, and sends each one's SubscribeNotifications — the
 * faces and vehicles of its cameras — to the subscription's ReceiveAddr, signed in to the
 * gateway as itself. It can refuse the next subscriptions (a system not ready yet).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { DigestAuth } from '../core/http-digest.js';
import { closeServer, listenLoopback } from './http.js';
import { ViidHttpClient, viidStatus } from '../devices/capture-camera/viid-client.js';

const REALM = 'district-viid';

export interface LowerSubscription {
  SubscribeID: string;
  SubscribeDetail: string;
  ResourceURI: string;
  ReceiveAddr: string;
  BeginTime: string;
  EndTime: string;
  from: string;
  [k: string]: unknown;
}

export class SimulatedLowerViid {
  private server?: http.Server;
  private readonly auth: DigestAuth;
  readonly subscriptions: LowerSubscription[] = [];
  /** Subscriptions still to refuse (StatusCode 8) before taking one. */
  refuseNext = 0;
  port = 0;
  private n = 0;

  constructor(
    /** Who may subscribe: the upper system's VIIDServerID and password. */
    upper: { id: string; password: string },
    /** This system as the upper one knows it: its DeviceID and the secret it signs in with. */
    readonly self: { id: string; secret: string },
  ) {
    const ha1 = createHash('md5').update(`${upper.id}:${REALM}:${upper.password}`).digest('hex');
    this.auth = new DigestAuth(REALM, (u) => (u === upper.id ? ha1 : undefined));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.port = await listenLoopback(server, port);
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }

  /** Sends its cameras' objects to every subscription asking for them (12 faces, 13 vehicles); resolves to the answers' status codes. */
  async notify(objects: { faces?: unknown[]; vehicles?: unknown[] }): Promise<number[]> {
    const codes: number[] = [];
    for (const s of this.subscriptions) {
      const wants = s.SubscribeDetail.split(',');
      const n: Record<string, unknown> = {
        NotificationID: `${this.self.id}${String(++this.n).padStart(6, '0')}`,
        SubscribeID: s.SubscribeID,
        Title: 'notification',
        TriggerTime: new Date(Date.now() + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14),
      };
      if (objects.faces && wants.includes('12')) n.FaceObjectList = { FaceObject: objects.faces };
      if (objects.vehicles && wants.includes('13')) n.MotorVehicleObjectList = { MotorVehicleObject: objects.vehicles };
      if (!n.FaceObjectList && !n.MotorVehicleObjectList) continue;
      const to = new URL(s.ReceiveAddr);
      const r = await new ViidHttpClient(to.origin, this.self.id, this.self.secret).post(to.pathname, {
        SubscribeNotificationListObject: { SubscribeNotificationObject: [n] },
      });
      codes.push(viidStatus(r.body).code ?? r.status);
    }
    return codes;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/VIID+JSON', ...headers }).end(JSON.stringify(body));
      const answer = (id: string, code: number, text: string) => ({
        ID: id,
        RequestURL: path,
        StatusCode: code,
        StatusString: text,
        LocalTime: '',
      });
      const check = this.auth.verify(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
      if (!check.ok) return send(401, { ResponseStatusObject: answer('', 4, check.reason) }, { 'www-authenticate': check.challenge });
      if (req.method !== 'POST' || path !== '/VIID/Subscribes')
        return send(404, { ResponseStatusObject: answer('', 4, 'no such resource') });
      let list: unknown;
      try {
        list = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SubscribeListObject?: { SubscribeObject?: unknown } })
          .SubscribeListObject?.SubscribeObject;
      } catch {
        return send(400, { ResponseStatusObject: answer('', 8, 'not JSON') });
      }
      if (!Array.isArray(list)) return send(400, { ResponseStatusObject: answer('', 8, 'SubscribeListObject.SubscribeObject') });
      const statuses = (list as LowerSubscription[]).map((s) => {
        if (this.refuseNext > 0) {
          this.refuseNext--;
          return answer(s.SubscribeID, 8, 'not ready');
        }
        const known = this.subscriptions.findIndex((x) => x.SubscribeID === s.SubscribeID);
        const kept = { ...s, from: check.user };
        if (known >= 0) this.subscriptions[known] = kept;
        else this.subscriptions.push(kept);
        return answer(s.SubscribeID, 0, 'OK');
      });
      send(200, { ResponseStatusListObject: { ResponseStatusObject: statuses } });
    });
  }
}
