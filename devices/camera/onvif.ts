/**
 * The gateway's ONVIF client: one small module in front of node-onvif (the product card's
 * client), so the rest of the gateway never sees its shapes. node-onvif connects with
 * WS-UsernameToken digest auth and reads device information, profiles, stream and snapshot URIs;
 * its events service stops at GetEventProperties, so the PullPoint subscription (create, pull,
 * renew before expiry, unsubscribe) is ours, sent through node-onvif's own SOAP layer.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { parse as parseUrl } from 'node:url';
import type OnvifDeviceType from 'node-onvif/lib/modules/device.js';
import type OnvifSoapType from 'node-onvif/lib/modules/soap.js';

const require = createRequire(import.meta.url);
const OnvifDevice = require('node-onvif/lib/modules/device.js') as typeof OnvifDeviceType;
const soap = require('node-onvif/lib/modules/soap.js') as typeof OnvifSoapType;

export interface OnvifTarget {
  /** The device service address, http://host[:port]/onvif/device_service. */
  xaddr: string;
  user: string;
  password: string;
}

export interface DeviceInformation {
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  hardwareId: string;
}

export interface MediaProfile {
  token: string;
  name: string;
  width?: number;
  height?: number;
  fps?: number;
  encoding?: string;
  streamUri?: string;
  snapshotUri?: string;
}

export interface CameraEventMessage {
  kind: 'motion' | 'tamper' | 'other';
  /** The ONVIF topic as the camera named it. */
  topic: string;
  state: boolean;
  at: Date;
}

export class OnvifError extends Error {
  constructor(
    message: string,
    readonly reason: 'unauthorized' | 'unreachable' | 'protocol',
  ) {
    super(message);
  }
}

function classify(err: unknown, what: string): OnvifError {
  const text = err instanceof Error ? err.message : String(err);
  if (/NotAuthorized|not authorized|401/i.test(text))
    return new OnvifError(`${what}: the camera refused the credentials (${text.replace(/^.*?:\s*/, '')})`, 'unauthorized');
  if (/Network Error|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|socket hang up|ECONNRESET/i.test(text))
    return new OnvifError(`${what}: camera not reachable (${text})`, 'unreachable');
  return new OnvifError(`${what}: ${text}`, 'protocol');
}

/** A camera connected over ONVIF. */
export class OnvifCamera {
  private constructor(
    private readonly device: OnvifDeviceType,
    private readonly target: OnvifTarget,
    readonly info: DeviceInformation,
    readonly profiles: MediaProfile[],
    readonly eventsXaddr: string | undefined,
  ) {}

  static async connect(target: OnvifTarget, timeoutMs = 5000): Promise<OnvifCamera> {
    let url: URL;
    try {
      url = new URL(target.xaddr);
    } catch {
      throw new OnvifError(`"${target.xaddr}" is not a URL (want http://host:port/onvif/device_service)`, 'protocol');
    }
    if (url.protocol !== 'http:') throw new OnvifError(`${target.xaddr}: only http:// ONVIF addresses are supported`, 'protocol');
    soap.HTTP_TIMEOUT = timeoutMs;
    const device = new OnvifDevice({ xaddr: target.xaddr, user: target.user, pass: target.password });
    try {
      await device.init();
    } catch (err) {
      throw classify(err, `ONVIF ${url.host}`);
    }
    const i = device.information ?? {};
    const info: DeviceInformation = {
      manufacturer: String(i.Manufacturer ?? ''),
      model: String(i.Model ?? ''),
      firmware: String(i.FirmwareVersion ?? ''),
      serial: String(i.SerialNumber ?? ''),
      hardwareId: String(i.HardwareId ?? ''),
    };
    const profiles: MediaProfile[] = device.profile_list.map((p) => ({
      token: p.token,
      name: p.name,
      width: p.video.encoder?.resolution.width,
      height: p.video.encoder?.resolution.height,
      fps: p.video.encoder?.framerate,
      encoding: p.video.encoder?.encoding,
      streamUri: p.stream.rtsp || undefined,
      snapshotUri: p.snapshot || undefined,
    }));
    return new OnvifCamera(device, target, info, profiles, device.services.events?.xaddr);
  }

  /** Subscribes to the camera's events through a PullPoint; call start() on the result. */
  pullPoint(options: PullPointOptions = {}): PullPointSubscription {
    if (!this.eventsXaddr) throw new OnvifError('the camera offers no events service', 'protocol');
    return new PullPointSubscription(this.eventsXaddr, this.target, this.device.time_diff, options);
  }
}

export interface PullPointOptions {
  /** How long each subscription (and each renewal) asks to live. */
  lifetimeMs?: number;
  /** How long one PullMessages call may wait for messages. */
  pullTimeoutMs?: number;
  /** Wait after a failure before subscribing again (doubles up to 30 s). */
  retryMs?: number;
}

const EVENT_NS = [
  'xmlns:wsa="http://www.w3.org/2005/08/addressing"',
  'xmlns:tev="http://www.onvif.org/ver10/events/wsdl"',
  'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"',
];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' ? (v as Obj) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const textOf = (v: unknown): string => (typeof v === 'string' ? v : typeof obj(v)?._ === 'string' ? (obj(v)!._ as string) : '');
const seconds = (ms: number) => `PT${Math.max(1, Math.round(ms / 1000))}S`;

/**
 * A PullPoint subscription kept alive: pulls in a loop, renews when less than a quarter of its
 * lifetime is left, and subscribes afresh (with backoff) when the camera forgets it or goes away.
 * Emits 'event' (CameraEventMessage), 'error' (Error, recoverable), 'subscribed', 'renewed'.
 */
export class PullPointSubscription extends EventEmitter {
  private address?: string;
  private expiresAt = 0;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  renewals = 0;
  subscriptions = 0;
  lastError?: string;

  constructor(
    private readonly eventsXaddr: string,
    private readonly target: OnvifTarget,
    private readonly timeDiff: number,
    private readonly opts: PullPointOptions,
  ) {
    super();
  }

  get active(): boolean {
    return this.address !== undefined && Date.now() < this.expiresAt;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (this.address) await this.call(this.address, 'Unsubscribe', '<wsnt:Unsubscribe/>').catch(() => undefined);
    this.address = undefined;
  }

  private get lifetimeMs() {
    return this.opts.lifetimeMs ?? 60_000;
  }

  private get pullTimeoutMs() {
    return Math.min(this.opts.pullTimeoutMs ?? 5000, this.lifetimeMs / 4);
  }

  /** Renew while a whole pull and a slow answer still fit before the subscription would lapse. */
  private get renewMarginMs() {
    return Math.max(this.lifetimeMs / 4, this.pullTimeoutMs + 2000);
  }

  private async run(): Promise<void> {
    let retry = this.opts.retryMs ?? 1000;
    while (this.running) {
      try {
        if (!this.active) await this.subscribe();
        else if (this.expiresAt - Date.now() < this.renewMarginMs) await this.renew();
        await this.pull();
        retry = this.opts.retryMs ?? 1000;
      } catch (err) {
        this.address = undefined;
        this.lastError = (err as Error).message;
        if (this.running) this.emit('error', err);
        await this.sleep(retry);
        retry = Math.min(retry * 2, 30_000);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async subscribe(): Promise<void> {
    const r = await this.call(
      this.eventsXaddr,
      'CreatePullPointSubscription',
      `<tev:CreatePullPointSubscription><tev:InitialTerminationTime>${seconds(this.lifetimeMs)}</tev:InitialTerminationTime>` +
        `</tev:CreatePullPointSubscription>`,
    );
    const res = obj(r.CreatePullPointSubscriptionResponse);
    const address = textOf(obj(res?.SubscriptionReference)?.Address);
    if (!address) throw new OnvifError('CreatePullPointSubscription answered without a subscription address', 'protocol');
    this.address = address;
    this.setExpiry(res?.CurrentTime, res?.TerminationTime);
    this.subscriptions++;
    this.emit('subscribed', address);
  }

  private async renew(): Promise<void> {
    const r = await this.call(
      this.address!,
      'Renew',
      `<wsnt:Renew><wsnt:TerminationTime>${seconds(this.lifetimeMs)}</wsnt:TerminationTime></wsnt:Renew>`,
    );
    const res = obj(r.RenewResponse);
    this.setExpiry(res?.CurrentTime, res?.TerminationTime);
    this.renewals++;
    this.emit('renewed', this.expiresAt);
  }

  /** Reads expiry on the camera's clock, mapped onto ours (cameras' clocks drift). */
  private setExpiry(current: unknown, termination: unknown): void {
    const now = Date.parse(textOf(current));
    const end = Date.parse(textOf(termination));
    this.expiresAt = Number.isFinite(end) ? Date.now() + (end - (Number.isFinite(now) ? now : Date.now())) : Date.now() + this.lifetimeMs;
  }

  private async pull(): Promise<void> {
    const timeout = this.pullTimeoutMs;
    const r = await this.call(
      this.address!,
      'PullMessages',
      `<tev:PullMessages><tev:Timeout>${seconds(timeout)}</tev:Timeout><tev:MessageLimit>32</tev:MessageLimit></tev:PullMessages>`,
      timeout + 5000,
    );
    const res = obj(r.PullMessagesResponse);
    if (res?.TerminationTime) this.setExpiry(res.CurrentTime, res.TerminationTime);
    for (const n of list(res?.NotificationMessage)) {
      const event = readNotification(n);
      if (event) this.emit('event', event);
    }
  }

  private async call(address: string, method: string, body: string, timeoutMs = 5000): Promise<Obj> {
    const request = soap.createRequestSoap({
      body,
      xmlns: EVENT_NS,
      diff: this.timeDiff,
      user: this.target.user,
      pass: this.target.password,
    });
    // node-onvif reads its (shared) timeout synchronously as the request starts, so setting it
    // just before each call gives each call its own.
    soap.HTTP_TIMEOUT = timeoutMs;
    try {
      const r = await soap.requestCommand(parseUrl(address), method, request);
      return r.data;
    } catch (err) {
      throw classify(err, `ONVIF ${method}`);
    }
  }
}

/** One NotificationMessage as xml2js (node-onvif's parser) gives it. */
export function readNotification(n: unknown): CameraEventMessage | undefined {
  const topic = textOf(obj(n)?.Topic).trim();
  const message = obj(obj(obj(n)?.Message)?.Message);
  if (!topic || !message) return undefined;
  const items = list(obj(message.Data)?.SimpleItem)
    .map((i) => obj(obj(i)?.$))
    .filter((x): x is Obj => x !== undefined);
  const value = items.find((i) => ['State', 'IsMotion', 'IsTamper', 'IsGlobalSceneChange'].includes(String(i.Name)))?.Value;
  if (value === undefined) return undefined;
  const at = Date.parse(String(obj(message.$)?.UtcTime ?? ''));
  const kind = /MotionAlarm|CellMotionDetector|Motion/i.test(topic)
    ? 'motion'
    : /GlobalSceneChange|Tamper/i.test(topic)
      ? 'tamper'
      : 'other';
  return { kind, topic, state: String(value).toLowerCase() === 'true', at: Number.isFinite(at) ? new Date(at) : new Date() };
}
