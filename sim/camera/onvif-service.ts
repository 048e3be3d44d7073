/**
 * The simulated camera's ONVIF side: device, media and events services over SOAP/HTTP, and an
 * HTTP snapshot endpoint behind Digest authentication, as a Profile S camera answers them.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DigestAuth } from '../../core/http-digest.js';
import {
  envelope,
  escapeXml,
  fault,
  parseDuration,
  parseSoap,
  SoapParseError,
  text,
  UsernameTokenVerifier,
  type SoapRequest,
} from './soap.js';

export interface CameraIdentity {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  hardwareId: string;
  name: string;
  location: string;
}

export interface StreamInfo {
  rtspUrl: string;
  width: number;
  height: number;
  fps: number;
  encoding: 'H264' | 'JPEG';
}

export interface CameraEvent {
  topic: 'tns1:VideoSource/MotionAlarm' | 'tns1:VideoSource/GlobalSceneChange/ImagingService';
  state: boolean;
  at: Date;
}

export interface OnvifServiceOptions {
  host: string;
  port: number;
  identity: CameraIdentity;
  users: ReadonlyMap<string, string>;
  stream: () => StreamInfo;
  snapshot: () => Buffer;
  /** The longest a subscription may be asked to live without a renewal. */
  maxSubscriptionMs?: number;
}

/** Operations a client may call before it authenticates (ONVIF Core, access class PRE_AUTH). */
const PRE_AUTH = new Set(['GetSystemDateAndTime', 'GetCapabilities', 'GetServices', 'GetServiceCapabilities', 'GetWsdlUrl']);
const SNAPSHOT_REALM = 'gridedge-sim-camera';
const MAX_BODY = 256 * 1024;

interface Subscription {
  id: string;
  expiresAt: number;
  queue: CameraEvent[];
  waiter?: () => void;
}

export class OnvifService {
  private server?: Server;
  private readonly tokens: UsernameTokenVerifier;
  private readonly digest: DigestAuth;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly state = new Map<CameraEvent['topic'], boolean>();
  private nextSubscription = 1;
  /** Requests refused for bad credentials, for tests and the simulator's report. */
  refused = 0;
  port = 0;

  constructor(private readonly opts: OnvifServiceOptions) {
    this.tokens = new UsernameTokenVerifier(opts.users);
    this.digest = new DigestAuth(SNAPSHOT_REALM, (user) => {
      const password = opts.users.get(user);
      return password === undefined ? undefined : createHash('md5').update(`${user}:${SNAPSHOT_REALM}:${password}`).digest('hex');
    });
  }

  get base(): string {
    return `http://${this.opts.host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.subscriptions.values()) s.waiter?.();
    this.subscriptions.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Publishes a state change to every live pull-point subscription. */
  emit(event: CameraEvent): void {
    this.state.set(event.topic, event.state);
    this.sweep();
    for (const s of this.subscriptions.values()) {
      s.queue.push(event);
      if (s.queue.length > 1000) s.queue.shift();
      s.waiter?.();
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.subscriptions) if (s.expiresAt <= now) this.subscriptions.delete(id);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET' && path === '/snapshot.jpg') return this.serveSnapshot(req, res);
      if (req.method !== 'POST' || !path.startsWith('/onvif/')) return send(res, 404, 'text/plain', 'not found');
      const body = await readBody(req);
      let soap: SoapRequest;
      try {
        soap = parseSoap(body);
      } catch (err) {
        if (err instanceof SoapParseError) return send(res, 400, SOAP, fault('Sender', 'ter:WellFormed', err.message));
        throw err;
      }
      const auth = this.tokens.check(soap.header);
      if (auth.ok === false || (auth.ok === 'absent' && !PRE_AUTH.has(soap.operation))) {
        this.refused++;
        const reason = auth.ok === false ? auth.reason : 'authentication required';
        return send(res, 400, SOAP, fault('Sender', 'ter:NotAuthorized', `Sender not authorized: ${reason}`));
      }
      const answer = await this.operation(path, soap);
      if (answer === undefined)
        return send(res, 400, SOAP, fault('Sender', 'ter:ActionNotSupported', `${soap.operation} is not supported on ${path}`));
      send(res, answer.status ?? 200, SOAP, answer.xml);
    } catch (err) {
      send(res, 500, SOAP, fault('Receiver', 'ter:Action', (err as Error).message));
    }
  }

  private serveSnapshot(req: IncomingMessage, res: ServerResponse): void {
    const r = this.digest.verify('GET', req.url ?? '/', req.headers.authorization);
    if (!r.ok) {
      this.refused += req.headers.authorization ? 1 : 0;
      res.writeHead(401, { 'WWW-Authenticate': r.challenge, 'Content-Type': 'text/plain' });
      res.end('authentication required');
      return;
    }
    const jpeg = this.opts.snapshot();
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length });
    res.end(jpeg);
  }

  private async operation(path: string, soap: SoapRequest): Promise<{ xml: string; status?: number } | undefined> {
    const ok = (xml: string) => ({ xml: envelope(xml) });
    const { identity } = this.opts;
    if (path === '/onvif/device_service') {
      switch (soap.operation) {
        case 'GetSystemDateAndTime':
          return ok(`<tds:GetSystemDateAndTimeResponse>${systemDateAndTime(new Date())}</tds:GetSystemDateAndTimeResponse>`);
        case 'GetDeviceInformation':
          return ok(
            `<tds:GetDeviceInformationResponse><tds:Manufacturer>${escapeXml(identity.manufacturer)}</tds:Manufacturer>` +
              `<tds:Model>${escapeXml(identity.model)}</tds:Model>` +
              `<tds:FirmwareVersion>${escapeXml(identity.firmware)}</tds:FirmwareVersion>` +
              `<tds:SerialNumber>${escapeXml(identity.serial)}</tds:SerialNumber>` +
              `<tds:HardwareId>${escapeXml(identity.hardwareId)}</tds:HardwareId></tds:GetDeviceInformationResponse>`,
          );
        case 'GetCapabilities':
          return ok(`<tds:GetCapabilitiesResponse>${this.capabilities()}</tds:GetCapabilitiesResponse>`);
        case 'GetServices':
          return ok(`<tds:GetServicesResponse>${this.services(text(soap.body.IncludeCapability) === 'true')}</tds:GetServicesResponse>`);
        case 'GetScopes':
          return ok(
            `<tds:GetScopesResponse>${scopes(identity)
              .map((s) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${escapeXml(s)}</tt:ScopeItem></tds:Scopes>`)
              .join('')}</tds:GetScopesResponse>`,
          );
      }
      return undefined;
    }
    if (path === '/onvif/media_service') {
      const stream = this.opts.stream();
      switch (soap.operation) {
        case 'GetProfiles':
          return ok(`<trt:GetProfilesResponse>${profile(stream, 'trt:Profiles')}</trt:GetProfilesResponse>`);
        case 'GetProfile':
          return text(soap.body.ProfileToken) === PROFILE
            ? ok(`<trt:GetProfileResponse>${profile(stream, 'trt:Profile')}</trt:GetProfileResponse>`)
            : noProfile();
        case 'GetVideoSources':
          return ok(
            `<trt:GetVideoSourcesResponse><trt:VideoSources token="${SOURCE}"><tt:Framerate>${stream.fps}</tt:Framerate>` +
              `<tt:Resolution><tt:Width>${stream.width}</tt:Width><tt:Height>${stream.height}</tt:Height></tt:Resolution>` +
              `</trt:VideoSources></trt:GetVideoSourcesResponse>`,
          );
        case 'GetStreamUri':
          if (text(soap.body.ProfileToken) !== PROFILE) return noProfile();
          return ok(`<trt:GetStreamUriResponse>${mediaUri(stream.rtspUrl)}</trt:GetStreamUriResponse>`);
        case 'GetSnapshotUri':
          if (text(soap.body.ProfileToken) !== PROFILE) return noProfile();
          return ok(`<trt:GetSnapshotUriResponse>${mediaUri(`${this.base}/snapshot.jpg`)}</trt:GetSnapshotUriResponse>`);
      }
      return undefined;
    }
    if (path === '/onvif/events_service') {
      switch (soap.operation) {
        case 'GetEventProperties':
          return ok(eventProperties());
        case 'CreatePullPointSubscription': {
          const ms = this.requestedLifetime(text(soap.body.InitialTerminationTime));
          if (ms === undefined)
            return { status: 400, xml: fault('Sender', 'ter:InvalidArgVal', 'InitialTerminationTime is not a duration or time') };
          const id = String(this.nextSubscription++);
          const sub: Subscription = { id, expiresAt: Date.now() + ms, queue: [] };
          // A new subscriber first learns the current state, as ONVIF's "Initialized" messages do.
          for (const [topic, state] of this.state) sub.queue.push({ topic, state, at: new Date() });
          this.subscriptions.set(id, sub);
          return ok(
            `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>` +
              `<wsa:Address>${this.base}/onvif/subscription/${id}</wsa:Address></tev:SubscriptionReference>` +
              `<wsnt:CurrentTime>${iso(Date.now())}</wsnt:CurrentTime>` +
              `<wsnt:TerminationTime>${iso(sub.expiresAt)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`,
          );
        }
      }
      return undefined;
    }
    const m = /^\/onvif\/subscription\/(\d+)$/.exec(path);
    if (!m) return undefined;
    this.sweep();
    const sub = this.subscriptions.get(m[1]!);
    if (!sub) return { status: 400, xml: fault('Sender', 'ter:InvalidArgVal', 'unknown or expired subscription (ResourceUnknown)') };
    switch (soap.operation) {
      case 'PullMessages': {
        const timeout = Math.min(parseDuration(text(soap.body.Timeout) ?? 'PT1S') ?? 1000, 60_000);
        const limit = Math.max(1, Number(text(soap.body.MessageLimit) ?? 100) || 100);
        if (!sub.queue.length)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => resolve(), timeout);
            sub.waiter = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        sub.waiter = undefined;
        const messages = sub.queue.splice(0, limit);
        return ok(
          `<tev:PullMessagesResponse><tev:CurrentTime>${iso(Date.now())}</tev:CurrentTime>` +
            `<tev:TerminationTime>${iso(sub.expiresAt)}</tev:TerminationTime>` +
            messages.map(notification).join('') +
            `</tev:PullMessagesResponse>`,
        );
      }
      case 'Renew': {
        const ms = this.requestedLifetime(text(soap.body.TerminationTime));
        if (ms === undefined)
          return { status: 400, xml: fault('Sender', 'ter:InvalidArgVal', 'TerminationTime is not a duration or time') };
        sub.expiresAt = Date.now() + ms;
        return ok(
          `<wsnt:RenewResponse><wsnt:TerminationTime>${iso(sub.expiresAt)}</wsnt:TerminationTime>` +
            `<wsnt:CurrentTime>${iso(Date.now())}</wsnt:CurrentTime></wsnt:RenewResponse>`,
        );
      }
      case 'Unsubscribe':
        this.subscriptions.delete(sub.id);
        sub.waiter?.();
        return ok('<wsnt:UnsubscribeResponse/>');
    }
    return undefined;
  }

  /** A lifetime asked as a duration (PT60S) or an absolute time, clamped to our maximum. */
  private requestedLifetime(asked: string | undefined): number | undefined {
    const max = this.opts.maxSubscriptionMs ?? 10 * 60_000;
    if (!asked) return 60_000;
    const ms = asked.startsWith('P') ? parseDuration(asked) : Date.parse(asked) - Date.now();
    if (ms === undefined || Number.isNaN(ms)) return undefined;
    return Math.max(1000, Math.min(ms, max));
  }

  private capabilities(): string {
    const b = this.base;
    return (
      `<tds:Capabilities><tt:Device><tt:XAddr>${b}/onvif/device_service</tt:XAddr></tt:Device>` +
      `<tt:Events><tt:XAddr>${b}/onvif/events_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
      `<tt:WSPullPointSupport>true</tt:WSPullPointSupport>` +
      `<tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
      `<tt:Media><tt:XAddr>${b}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
      `<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media></tds:Capabilities>`
    );
  }

  private services(withCapabilities: boolean): string {
    const b = this.base;
    const service = (ns: string, path: string, caps: string) =>
      `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${b}${path}</tds:XAddr>` +
      (withCapabilities ? `<tds:Capabilities>${caps}</tds:Capabilities>` : '') +
      `<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>`;
    return (
      service(
        'http://www.onvif.org/ver10/device/wsdl',
        '/onvif/device_service',
        '<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/><tds:Security ' +
          'UsernameToken="true" HttpDigest="true"/><tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false"/>' +
          '</tds:Capabilities>',
      ) +
      service(
        'http://www.onvif.org/ver10/media/wsdl',
        '/onvif/media_service',
        '<trt:Capabilities SnapshotUri="true" Rotation="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="1"/>' +
          '<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>',
      ) +
      service(
        'http://www.onvif.org/ver10/events/wsdl',
        '/onvif/events_service',
        '<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" ' +
          'WSPausableSubscriptionManagerInterfaceSupport="false"/>',
      )
    );
  }
}

const SOAP = 'application/soap+xml; charset=utf-8';
const PROFILE = 'profile_main';
const SOURCE = 'video_source_0';

function noProfile() {
  return { status: 400, xml: fault('Sender', 'ter:InvalidArgVal', 'no such profile (ter:NoProfile)') };
}

function profile(s: StreamInfo, tag: string): string {
  return (
    `<${tag} token="${PROFILE}" fixed="true"><tt:Name>main</tt:Name>` +
    `<tt:VideoSourceConfiguration token="vsc_0"><tt:Name>video source</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:SourceToken>${SOURCE}</tt:SourceToken>` +
    `<tt:Bounds x="0" y="0" width="${s.width}" height="${s.height}"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="vec_0"><tt:Name>main stream</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>${s.encoding}</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${s.width}</tt:Width><tt:Height>${s.height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${s.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
    `<tt:BitrateLimit>1024</tt:BitrateLimit></tt:RateControl>` +
    `<tt:H264><tt:GovLength>${s.fps * 2}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port>` +
    `<tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
    `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration></${tag}>`
  );
}

function mediaUri(uri: string): string {
  return (
    `<trt:MediaUri><tt:Uri>${escapeXml(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
    `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`
  );
}

export function scopes(identity: CameraIdentity): string[] {
  const enc = (s: string) => encodeURIComponent(s);
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/Profile/Streaming',
    `onvif://www.onvif.org/name/${enc(identity.name)}`,
    `onvif://www.onvif.org/hardware/${enc(identity.model)}`,
    `onvif://www.onvif.org/location/${enc(identity.location)}`,
  ];
}

function systemDateAndTime(now: Date): string {
  return (
    `<tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone>` +
    `<tt:TZ>CST-8</tt:TZ></tt:TimeZone>` +
    `<tt:UTCDateTime><tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour><tt:Minute>${now.getUTCMinutes()}</tt:Minute>` +
    `<tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year><tt:Month>${now.getUTCMonth() + 1}</tt:Month>` +
    `<tt:Day>${now.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>`
  );
}

function notification(e: CameraEvent): string {
  return (
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${e.topic}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${e.at.toISOString()}" PropertyOperation="Changed">` +
    `<tt:Source><tt:SimpleItem Name="Source" Value="${SOURCE}"/></tt:Source>` +
    `<tt:Data><tt:SimpleItem Name="State" Value="${e.state}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`
  );
}

function eventProperties(): string {
  const item =
    `<tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/>` +
    `</tt:Source><tt:Data><tt:SimpleItemDescription Name="State" Type="xs:boolean"/></tt:Data></tt:MessageDescription>`;
  return (
    `<tev:GetEventPropertiesResponse>` +
    `<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>` +
    `<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet><wstop:TopicSet xmlns:wstop="http://docs.oasis-open.org/wsn/t-1"><tns1:VideoSource>` +
    `<MotionAlarm wstop:topic="true">${item}</MotionAlarm>` +
    `<GlobalSceneChange><ImagingService wstop:topic="true">${item}</ImagingService></GlobalSceneChange></tns1:VideoSource>` +
    `</wstop:TopicSet>` +
    `<wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>` +
    `<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>` +
    `<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>` +
    `</tev:GetEventPropertiesResponse>`
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export const identityFor = (id: string, location: string): CameraIdentity => ({
  manufacturer: 'gridedge',
  model: 'SimCam-1',
  firmware: '1.0.0',
  serial: id,
  hardwareId: 'sim-onvif-1',
  name: id,
  location,
});
