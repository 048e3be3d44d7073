/**
 * A simulated upper 视图库 (the city's GA/T 1400 server) that records what it receives: lower
 * systems sign in with HTTP Digest as their DeviceID, must Register before they post (an object
 * from one not registered is answered StatusCode 4), keep alive, UnRegister; Faces,
 * MotorVehicles and Persons are taken object by object and kept (a repeat of an ID already
 * taken is counted, not kept twice, as a 视图库 de-duplicates). It can be stopped and started
 * again on the same port (an outage), forget its registrations (a restart behind a balancer),
 * and refuse chosen objects (a content refusal).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { DigestAuth } from '../core/http-digest.js';
import { closeServer, listenLoopback } from './http.js';

export interface UpperViidObject {
  resource: 'Faces' | 'MotorVehicles' | 'Persons';
  from: string;
  id: string;
  object: Record<string, unknown>;
}

const REALM = 'city-viid';
const LISTS: Record<string, { resource: UpperViidObject['resource']; list: string; object: string; idKey: string }> = {
  '/VIID/Faces': { resource: 'Faces', list: 'FaceListObject', object: 'FaceObject', idKey: 'FaceID' },
  '/VIID/MotorVehicles': {
    resource: 'MotorVehicles',
    list: 'MotorVehicleListObject',
    object: 'MotorVehicleObject',
    idKey: 'MotorVehicleID',
  },
  '/VIID/Persons': { resource: 'Persons', list: 'PersonListObject', object: 'PersonObject', idKey: 'PersonID' },
};

export class SimulatedUpperViid {
  private server?: http.Server;
  private readonly auth: DigestAuth;
  private readonly registered = new Set<string>();
  private readonly seen = new Set<string>();
  readonly received: UpperViidObject[] = [];
  duplicates = 0;
  /** What happened, in order: register, keepalive, forget, object <id>, refused <id> (code). */
  readonly log: string[] = [];
  registrations = 0;
  keepalives = 0;
  unregisters = 0;
  /** Answers StatusCode ≠ 0 for an object when it returns a reason. */
  refuse?: (o: Record<string, unknown>) => string | undefined;
  /** The APEs each lower system declared (POST /VIID/APEs), by ApeID. */
  readonly apes = new Map<string, Record<string, unknown>>();
  /** true: an object whose DeviceID is no declared APE is refused, as many 视图库 do. */
  strictApes = false;
  port = 0;

  constructor(private readonly users: Record<string, string>) {
    this.auth = new DigestAuth(REALM, (u) => {
      const p = this.users[u];
      return p === undefined ? undefined : createHash('md5').update(`${u}:${REALM}:${p}`).digest('hex');
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts (again, on the same port after a stop). */
  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.port = await listenLoopback(server, this.port);
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }

  /** As after a restart: every lower system must register again. */
  forgetRegistrations(): void {
    this.registered.clear();
    this.log.push('forget');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/VIID+JSON', ...headers }).end(JSON.stringify(body));
      };
      const answer = (id: string, code: number, text: string) => ({
        ID: id,
        RequestURL: path,
        StatusCode: code,
        StatusString: text,
        LocalTime: '',
      });
      const check = this.auth.verify(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
      if (!check.ok) return send(401, { ResponseStatusObject: answer('', 4, check.reason) }, { 'www-authenticate': check.challenge });
      const user = check.user;
      let body: Record<string, Record<string, unknown> | undefined> = {};
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body) : {};
      } catch {
        return send(400, { ResponseStatusObject: answer('', 8, 'not JSON') });
      }
      if (path === '/VIID/System/Register') {
        if (body.RegisterObject?.DeviceID !== user) return send(400, { ResponseStatusObject: answer(user, 8, 'DeviceID') });
        this.registered.add(user);
        this.registrations++;
        this.log.push('register');
        return send(200, { ResponseStatusObject: answer(user, 0, 'OK') });
      }
      if (path === '/VIID/System/Keepalive') {
        if (!this.registered.has(user)) return send(200, { ResponseStatusObject: answer(user, 4, 'not registered') });
        this.keepalives++;
        return send(200, { ResponseStatusObject: answer(user, 0, 'OK') });
      }
      if (path === '/VIID/System/UnRegister') {
        this.registered.delete(user);
        this.unregisters++;
        return send(200, { ResponseStatusObject: answer(user, 0, 'OK') });
      }
      if (path === '/VIID/APEs') {
        const list = body.APEListObject?.APEObject;
        if (!Array.isArray(list)) return send(400, { ResponseStatusObject: answer('', 8, 'APEListObject.APEObject') });
        const statuses = (list as Array<Record<string, unknown>>).map((a) => {
          const id = String(a?.ApeID ?? '');
          if (!/^\d{20}$/.test(id)) return answer(id, 8, 'ApeID');
          this.apes.set(id, a);
          return answer(id, 0, 'OK');
        });
        return send(200, { ResponseStatusListObject: { ResponseStatusObject: statuses } });
      }
      const kind = LISTS[path];
      if (!kind) return send(404, { ResponseStatusObject: answer('', 4, 'no such resource') });
      const objects = body[kind.list]?.[kind.object];
      if (!Array.isArray(objects)) return send(400, { ResponseStatusObject: answer('', 8, `${kind.list}.${kind.object}`) });
      const statuses = (objects as Array<Record<string, unknown>>).map((o) => {
        const id = String(o?.[kind.idKey] ?? '');
        if (!this.registered.has(user)) {
          this.log.push(`refused ${id} (4)`);
          return answer(id, 4, 'not registered');
        }
        if (this.strictApes && !this.apes.has(String(o?.DeviceID ?? ''))) {
          this.log.push(`refused ${id} (8)`);
          return answer(id, 8, 'unknown APE');
        }
        const why = this.refuse?.(o);
        if (why) {
          this.log.push(`refused ${id} (8)`);
          return answer(id, 8, why);
        }
        this.log.push(`object ${id}`);
        if (this.seen.has(id)) this.duplicates++;
        else {
          this.seen.add(id);
          this.received.push({ resource: kind.resource, from: user, id, object: o });
        }
        return answer(id, 0, 'OK');
      });
      send(200, { ResponseStatusListObject: { ResponseStatusObject: statuses } });
    });
  }
}
