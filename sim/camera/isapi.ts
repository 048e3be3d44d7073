/**
 * A Hikvision camera's ISAPI event stream as the cameras serve it: `GET
 * /ISAPI/Event/notification/alertStream` behind HTTP Digest, answered with a never-ending
 * `multipart/mixed; boundary=boundary` response of `EventNotificationAlert` parts (the layout of
 * the ISAPI developer guide's alertStream example: ipAddress, portNo, protocol, macAddress,
 * channelID, dateTime with the camera's UTC offset, activePostCount, eventType, eventState,
 * eventDescription). A raised event is sent again every second while it lasts and never
 * followed by `inactive`, as real cameras do; `videoloss inactive` is the heartbeat.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestGate } from '../http.js';
import { DigestAuth, digestAuthorization } from '../../core/http-digest.js';

export interface SimIsapiOptions {
  host?: string;
  port?: number;
  user?: string;
  password: string;
  heartbeatMs?: number;
  /** Write Content-Length on each part (most firmware does; some does not). */
  contentLength?: boolean;
  /** What /ISAPI/Streaming/channels/101/picture answers (a JPEG); 404 without. */
  snapshot?: Buffer;
}

const DESCRIPTIONS: Record<string, string> = {
  VMD: 'Motion alarm',
  shelteralarm: 'Shelter Alarm',
  videoloss: 'videoloss alarm',
  linedetection: 'Line Crossing',
  fielddetection: 'Intrusion Detection',
  regionEntrance: 'Region Entrance',
  regionExiting: 'Region Exiting',
};

export class SimulatedIsapiCamera {
  private server?: http.Server;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly raised = new Map<string, { type: string; channel: number; count: number }>();
  private timers: NodeJS.Timeout[] = [];
  private readonly auth: DigestAuth;
  port = 0;
  /** Requests refused for their credentials; snapshots served. */
  refused = 0;
  snapshots = 0;
  /** The HTTP hosts it pushes to (httpHosts, as written by PUT), and every answer a push got. */
  readonly hosts: Array<{ url: string; user: string; password: string; challenge?: string; count: number }> = [];
  readonly pushAnswers: number[] = [];
  private pushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SimIsapiOptions) {
    const user = opts.user ?? 'admin';
    this.auth = new DigestAuth('IP Camera(E1234)', (u) =>
      u === user ? createHash('md5').update(`${u}:IP Camera(E1234):${opts.password}`).digest('hex') : undefined,
    );
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => r()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.timers.push(
      setInterval(() => this.broadcast('videoloss', 1, false), this.opts.heartbeatMs ?? 10_000),
      setInterval(() => {
        for (const r of this.raised.values()) this.broadcast(r.type, r.channel, true, ++r.count);
      }, 1000),
    );
  }

  /** Starts an event on a channel: sent now and every second until `clear`. */
  raise(type: string, channel = 1): void {
    const r = { type, channel, count: 1 };
    this.raised.set(`${channel}|${type}`, r);
    this.broadcast(type, channel, true, 1);
  }

  /** Stops repeating it (the camera says nothing more, as real ones do). */
  clear(type: string, channel = 1): void {
    this.raised.delete(`${channel}|${type}`);
  }

  /**
   * An ANPR read, as a Hikvision ANPR camera sends it on the alert stream: the
   * EventNotificationAlert with its ANPR block and pictureInfoList, then each picture as an
   * image/jpeg part named by its filename (licensePlatePicture.jpg, detectionPicture.jpg).
   */
  anpr(
    read: { plate: string; color?: string; direction?: 'forward' | 'reverse'; plateJpeg: Buffer; sceneJpeg?: Buffer },
    channel = 1,
  ): void {
    const pictures = [
      { name: 'licensePlatePicture.jpg', type: 'licensePlatePicture', bytes: read.plateJpeg },
      ...(read.sceneJpeg ? [{ name: 'detectionPicture.jpg', type: 'detectionPicture', bytes: read.sceneJpeg }] : []),
    ];
    const xmlBody = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
        '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n' +
        `<ipAddress>${this.opts.host ?? '127.0.0.1'}</ipAddress>\r\n<portNo>${this.port}</portNo>\r\n<protocol>HTTP</protocol>\r\n` +
        '<macAddress>44:19:b6:12:34:56</macAddress>\r\n' +
        `<channelID>${channel}</channelID>\r\n<dateTime>${beijing(Date.now())}</dateTime>\r\n` +
        '<activePostCount>1</activePostCount>\r\n<eventType>ANPR</eventType>\r\n<eventState>active</eventState>\r\n' +
        '<eventDescription>ANPR</eventDescription>\r\n' +
        `<ANPR>\r\n<country>CN</country>\r\n<licensePlate>${read.plate}</licensePlate>\r\n<line>1</line>\r\n` +
        `<direction>${read.direction ?? 'forward'}</direction>\r\n<confidenceLevel>96</confidenceLevel>\r\n` +
        `<plateType>92TypeCivil</plateType>\r\n<plateColor>${read.color ?? 'blue'}</plateColor>\r\n<vehicleType>vehicle</vehicleType>\r\n` +
        '</ANPR>\r\n<picNum>' +
        pictures.length +
        '</picNum>\r\n<pictureInfoList>\r\n' +
        pictures
          .map(
            (p) =>
              `<pictureInfo>\r\n<fileName>${p.name}</fileName>\r\n<type>${p.type}</type>\r\n<dataType>0</dataType>\r\n</pictureInfo>\r\n`,
          )
          .join('') +
        '</pictureInfoList>\r\n</EventNotificationAlert>\r\n',
    );
    const parts = [
      Buffer.concat([
        Buffer.from(`--boundary\r\nContent-Type: application/xml; charset="UTF-8"\r\nContent-Length: ${xmlBody.length}\r\n\r\n`),
        xmlBody,
        Buffer.from('\r\n'),
      ]),
      ...pictures.map((p) =>
        Buffer.concat([
          Buffer.from(
            `--boundary\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.name}"\r\n` +
              `Content-Type: image/jpeg\r\nContent-Length: ${p.bytes.length}\r\n\r\n`,
          ),
          p.bytes,
          Buffer.from('\r\n'),
        ]),
      ),
    ];
    for (const s of this.streams) for (const part of parts) s.write(part);
    // To an HTTP host: multipart/form-data, the XML part first (named anpr.xml), then each picture.
    const formParts = [
      Buffer.concat([
        Buffer.from('--MIME_boundary\r\nContent-Disposition: form-data; name="anpr.xml"; filename="anpr.xml"\r\n'),
        Buffer.from(`Content-Type: text/xml\r\nContent-Length: ${xmlBody.length}\r\n\r\n`),
        xmlBody,
        Buffer.from('\r\n'),
      ]),
      ...pictures.map((p) =>
        Buffer.concat([
          Buffer.from(`--MIME_boundary\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.name}"\r\n`),
          Buffer.from(`Content-Type: image/jpeg\r\nContent-Length: ${p.bytes.length}\r\n\r\n`),
          p.bytes,
          Buffer.from('\r\n'),
        ]),
      ),
      Buffer.from('--MIME_boundary--\r\n'),
    ];
    this.push('multipart/form-data; boundary=MIME_boundary', Buffer.concat(formParts));
  }

  /** Raw bytes on every open stream (a broken or hostile firmware). */
  writeRaw(bytes: Buffer): void {
    for (const s of this.streams) s.write(bytes);
  }

  /** Closes every open event stream, as a camera that reboots does. */
  dropStreams(): void {
    for (const s of this.streams) s.destroy();
    this.streams.clear();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.dropStreams();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!digestGate(this.auth, req, res, () => this.refused++)) return;
    if (req.url === '/ISAPI/Event/notification/httpHosts' && req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const xml = Buffer.concat(chunks).toString('utf8');
        const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';
        const unescaped = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
        const scheme = tag('protocolType') === 'HTTPS' ? 'https' : 'http';
        this.hosts.splice(0, this.hosts.length, {
          url: `${scheme}://${tag('ipAddress')}:${tag('portNo')}${unescaped(tag('url'))}`,
          user: unescaped(tag('userName')),
          password: unescaped(tag('password')),
          count: 0,
        });
        res
          .writeHead(200, { 'content-type': 'application/xml' })
          .end(
            '<?xml version="1.0" encoding="UTF-8"?>\r\n<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n' +
              '<requestURL>/ISAPI/Event/notification/httpHosts</requestURL>\r\n<statusCode>1</statusCode>\r\n' +
              '<statusString>OK</statusString>\r\n<subStatusCode>ok</subStatusCode>\r\n</ResponseStatus>\r\n',
          );
      });
      return;
    }
    if (req.url === '/ISAPI/System/deviceInfo') {
      // The layout of the ISAPI developer guide's DeviceInfo example.
      res
        .writeHead(200, { 'content-type': 'application/xml; charset="UTF-8"' })
        .end(
          '<?xml version="1.0" encoding="UTF-8"?>\r\n<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n' +
            '<deviceName>IP CAMERA</deviceName>\r\n<deviceID>88</deviceID>\r\n<deviceDescription>IPCamera</deviceDescription>\r\n' +
            '<deviceLocation>hangzhou</deviceLocation>\r\n<systemContact>Hikvision.China</systemContact>\r\n' +
            '<model>DS-2CD2T47G2-L</model>\r\n<serialNumber>DS-2CD2T47G2-L20210101AACHE12345678</serialNumber>\r\n' +
            '<macAddress>44:19:b6:12:34:56</macAddress>\r\n<firmwareVersion>V5.7.3</firmwareVersion>\r\n' +
            '<firmwareReleasedDate>build 220112</firmwareReleasedDate>\r\n<encoderVersion>V7.3</encoderVersion>\r\n' +
            '<encoderReleasedDate>build 200601</encoderReleasedDate>\r\n<deviceType>IPCamera</deviceType>\r\n' +
            '<telecontrolID>88</telecontrolID>\r\n</DeviceInfo>\r\n',
        );
      return;
    }
    if (req.url === '/ISAPI/Streaming/channels/101/picture' && this.opts.snapshot) {
      this.snapshots++;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': this.opts.snapshot.length }).end(this.opts.snapshot);
      return;
    }
    if (req.url !== '/ISAPI/Event/notification/alertStream') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'multipart/mixed; boundary=boundary', connection: 'close' });
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  private broadcast(type: string, channel: number, active: boolean, count = 1): void {
    const body = Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n' +
        `<ipAddress>${this.opts.host ?? '127.0.0.1'}</ipAddress>\r\n<portNo>${this.port}</portNo>\r\n<protocol>HTTP</protocol>\r\n` +
        '<macAddress>44:19:b6:12:34:56</macAddress>\r\n' +
        `<channelID>${channel}</channelID>\r\n<dateTime>${beijing(Date.now())}</dateTime>\r\n` +
        `<activePostCount>${count}</activePostCount>\r\n<eventType>${type}</eventType>\r\n` +
        `<eventState>${active ? 'active' : 'inactive'}</eventState>\r\n` +
        `<eventDescription>${DESCRIPTIONS[type] ?? type}</eventDescription>\r\n` +
        '</EventNotificationAlert>\r\n',
    );
    const head =
      '--boundary\r\nContent-Type: application/xml; charset="UTF-8"\r\n' +
      (this.opts.contentLength === false ? '' : `Content-Length: ${body.length}\r\n`) +
      '\r\n';
    for (const s of this.streams) s.write(Buffer.concat([Buffer.from(head), body, Buffer.from('\r\n')]));
    // The heartbeat is for the stream only; a host gets events.
    if (active) this.push('application/xml; charset="UTF-8"', body);
  }

  /**
   * One event to every HTTP host, one at a time as cameras do (the next waits for the answer),
   * signed with Digest: the first try unsigned, then the challenge answered, its nonce reused
   * with a growing count.
   */
  private push(type: string, body: Buffer): void {
    for (const h of this.hosts)
      this.pushing = this.pushing.then(async () => {
        const send = (authorization?: string) =>
          fetch(h.url, { method: 'POST', headers: { 'content-type': type, ...(authorization ? { authorization } : {}) }, body });
        const path = new URL(h.url).pathname;
        const sign = () => digestAuthorization(h.challenge!, h.user, h.password, 'POST', path, ++h.count);
        try {
          let res = await send(h.challenge ? sign() : undefined);
          if (res.status === 401) {
            await res.arrayBuffer();
            h.challenge = res.headers.get('www-authenticate') ?? '';
            h.count = 0;
            res = await send(sign());
          }
          await res.arrayBuffer();
          this.pushAnswers.push(res.status);
        } catch {
          this.pushAnswers.push(0);
        }
      });
  }

  /** Resolves when every push so far has been answered. */
  pushed(): Promise<void> {
    return this.pushing;
  }
}

/** The camera's clock: Beijing time with its offset, as ISAPI writes dateTime. */
function beijing(ms: number): string {
  return `${new Date(ms + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}
