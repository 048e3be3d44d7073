/**
 * The gateway as a GA/T 1400 client of the city's 视图库 (captures.viid): it registers with its
 * DeviceID (HTTP Digest), keeps the registration alive, and delivers each face, plate and
 * (optionally) person capture — from its own detectors and from smart cameras alike — as one
 * FaceObject, MotorVehicleObject or PersonObject with its pictures (the crop and the scene, as
 * they left the gateway: masked where evidence.privacy says so).
 *
 * Delivery has the outbox's discipline (core/delivery-queue.ts): each capture is on disk before
 * it is offered, delivered one at a time in order, removed only when the 视图库 answered
 * StatusCode 0, retried with backoff across outages and restarts, bounded by bytes and age with
 * drops counted. An object the 视图库 refuses for its content (a StatusCode other than 0, or
 * HTTP 400) is not retried in front of the others: dropped, counted and logged. A refusal that
 * says the gateway is not registered (StatusCode 4, HTTP 401) registers it again first.
 *
 * Object IDs follow GA/T 1400's layout and are stable across retries (the 视图库 de-duplicates
 * by them): the picture's SourceID is the DeviceID (20), 02, the shot's local time (14) and a
 * serial (5) taken from the capture's id (the scene's ImageID the next serial); the object's ID
 * is the SourceID, its type (06 face,
 * 02 motor vehicle, 01 person) and 00001.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CaptureMessage } from '../../contracts/capture.js';
import type { Counters } from '../../core/counters.js';
import { DeliveryQueue, Undeliverable } from '../../core/delivery-queue.js';
import type { Logger } from '../../core/log.js';
import { maskUrl } from '../../core/secrets.js';
import { localTime, viidResource } from '../../devices/capture-camera/viid.js';
import { ViidHttpClient, viidStatus, viidStatuses } from '../../devices/capture-camera/viid-client.js';
import { gaColorCode } from '../../devices/capture-camera/plates.js';
import type { Config } from '../config/schema.js';
import type { Service } from '../services.js';

export type ViidUplinkSettings = NonNullable<Config['captures']['viid']> & { password: string };

/** The object type in an object's ID (GA/T 1400: 06 face, 02 motor vehicle, 01 person): the subjects that go up. */
const ID_TYPES = { face: '06', plate: '02', person: '01' } as const;
type UpSubject = keyof typeof ID_TYPES;

/** A collecting device (采集设备, APE) the gateway's objects name as their DeviceID. */
export interface ViidApe {
  ApeID: string;
  Name: string;
  Model?: string;
  Longitude?: number;
  Latitude?: number;
  /** The GB/T 2260 division the APE is in (the first six digits of its grid code). */
  PlaceCode?: string;
}

export interface ViidUplinkHealth {
  url: string;
  deviceId: string;
  registered: boolean;
  lastError?: string;
  pending: number;
  delivered: number;
  dropped: { full: number; expired: number; undeliverable: number };
}

export class ViidUplink implements Service {
  readonly name = 'viid-uplink';
  private readonly client: ViidHttpClient;
  private readonly queue: DeliveryQueue<CaptureMessage>;
  private registered = false;
  private registering?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastError?: string;
  private stopped = false;

  constructor(
    private readonly settings: ViidUplinkSettings,
    dataDir: string,
    /** An image the gateway stored, by its sha256. */
    private readonly image: (sha256: string) => Promise<Buffer | undefined>,
    private readonly counters: Counters,
    private readonly log: Logger,
    /** The APEs to declare after each Register (the gateway itself and its 20-digit cameras). */
    private readonly apes: () => ViidApe[] = () => [],
  ) {
    this.client = new ViidHttpClient(settings.url, settings.deviceId, settings.password, settings.timeoutMs);
    this.queue = new DeliveryQueue<CaptureMessage>({
      dir: path.join(dataDir, 'viid-outbox'),
      maxBytes: settings.maxPendingMB * 1024 * 1024,
      maxAgeMs: settings.maxPendingHours * 3600_000,
      maxBackoffMs: 30_000,
      deliver: (m) => this.deliver(m),
      onDelivered: (m) => {
        this.lastError = undefined;
        counters.inc('viid_delivered_total', { subject: m.subject });
      },
      onDrop: (m, reason, why) => {
        counters.inc('viid_dropped_total', { reason });
        log.warn({ capture: m.id, camera: m.camera, reason, why }, 'capture dropped before it reached the 视图库');
      },
      onError: (_m, err, attempt) => {
        this.lastError = err.message;
        if (attempt === 1 || attempt % 10 === 0) log.warn({ err: err.message, attempt }, '视图库 delivery failed; retrying');
      },
    });
  }

  start(): void {
    this.stopped = false;
    this.queue.start();
    void this.keepalive();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.queue.stop();
    // Say goodbye when it can be said at once; the 视图库 sees the keepalives stop otherwise.
    if (this.registered) {
      const bye = new ViidHttpClient(this.settings.url, this.settings.deviceId, this.settings.password, 2000);
      await bye.post('/VIID/System/UnRegister', { UnRegisterObject: { DeviceID: this.settings.deviceId } }).catch(() => undefined);
      this.registered = false;
    }
  }

  /** Takes a capture for the 视图库 when its subject goes up (durably, before it returns). */
  async offer(m: CaptureMessage): Promise<void> {
    if (!(this.settings.subjects as readonly string[]).includes(m.subject)) return;
    if (!m.crop && !m.scene) return; // nothing to show: GA/T 1400 objects carry their pictures
    await this.queue.put(m, (m.crop?.bytes ?? 0) + (m.scene?.bytes ?? 0) + 2048);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  health(): ViidUplinkHealth {
    const s = this.queue.stats();
    return {
      url: maskUrl(this.settings.url),
      deviceId: this.settings.deviceId,
      registered: this.registered,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      pending: s.pending,
      delivered: s.delivered,
      dropped: s.dropped,
    };
  }

  /** Registered, or registers now (one attempt at a time); throws with the 视图库's answer when refused. */
  private ensureRegistered(): Promise<void> {
    if (this.registered) return Promise.resolve();
    this.registering ??= this.register().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  private async register(): Promise<void> {
    const r = await this.client.post('/VIID/System/Register', { RegisterObject: { DeviceID: this.settings.deviceId } });
    const s = viidStatus(r.body);
    if (r.status === 401) throw new Error('Register: the 视图库 refused the credentials');
    if (r.status !== 200 || s.code !== 0) throw new Error(`Register: HTTP ${r.status}, StatusCode ${s.code ?? '?'}: ${s.text ?? ''}`);
    this.registered = true;
    this.lastError = undefined;
    this.counters.inc('viid_registrations_total');
    this.log.info({ url: maskUrl(this.settings.url), deviceId: this.settings.deviceId }, 'registered with the 视图库');
    await this.declareApes();
    this.queue.wake();
  }

  /**
   * Tells the 视图库 which collecting devices its objects will name (POST /VIID/APEs): many
   * refuse objects from an APE they do not know. Best effort: a refusal is logged and counted,
   * the objects are still sent.
   */
  private async declareApes(): Promise<void> {
    const apes = this.apes();
    if (!apes.length) return;
    try {
      const r = await this.client.post('/VIID/APEs', { APEListObject: { APEObject: apes.map((a) => ({ ...a, IsOnline: '1' })) } });
      const statuses = viidStatuses(r.body);
      const refused = statuses.length ? statuses.filter((s) => s.code !== 0).length : apes.length;
      if (r.status !== 200 || refused) throw new Error(`HTTP ${r.status}, ${refused} of ${apes.length} APEs refused`);
    } catch (err) {
      this.counters.inc('viid_ape_failures_total');
      this.log.warn({ err: (err as Error).message }, 'the 视图库 did not take the APE list; objects are sent all the same');
    }
  }

  /** Every keepaliveSeconds: a Keepalive when registered, a Register when not. */
  private async keepalive(): Promise<void> {
    try {
      if (!this.registered) await this.ensureRegistered();
      else {
        const r = await this.client.post('/VIID/System/Keepalive', { KeepaliveObject: { DeviceID: this.settings.deviceId } });
        const s = viidStatus(r.body);
        if (r.status !== 200 || s.code !== 0) {
          this.registered = false;
          throw new Error(`Keepalive: HTTP ${r.status}, StatusCode ${s.code ?? '?'}: ${s.text ?? ''}`);
        }
      }
    } catch (err) {
      this.registered = false;
      this.lastError = (err as Error).message;
      this.counters.inc('viid_keepalive_failures_total');
      this.log.warn({ url: maskUrl(this.settings.url), err: this.lastError }, '视图库 unreachable or refusing; trying again');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.keepalive(), this.settings.keepaliveSeconds * 1000);
      this.timer.unref();
    }
  }

  private async deliver(m: CaptureMessage): Promise<void> {
    await this.ensureRegistered();
    if (!(m.subject in ID_TYPES)) throw new Undeliverable(`no GA/T 1400 resource for a ${m.subject} capture`);
    const res = viidResource(m.subject);
    const body = { [res.listKey]: { [res.objectKey]: [await this.object(m, m.subject as UpSubject)] } };
    const r = await this.client.post(res.url, body);
    const s = viidStatus(r.body);
    if (r.status === 401 || (r.status === 200 && s.code === 4)) {
      this.registered = false;
      throw new Error(`${res.url}: not registered (${s.text ?? `HTTP ${r.status}`}); registering again`);
    }
    if (r.status >= 500 || r.status === 429 || r.status === 408) throw new Error(`${res.url}: HTTP ${r.status}`);
    // 200 without a status list: the 视图库 took it but said nothing. Delivered (retrying would send it
    // again for ever), and counted.
    if (r.status === 200 && s.code === undefined) {
      this.counters.inc('viid_unconfirmed_total');
      return;
    }
    if (r.status !== 200 || s.code !== 0)
      throw new Undeliverable(`${res.url}: HTTP ${r.status}, StatusCode ${s.code ?? '?'}: ${s.text ?? 'no status'}`);
  }

  /** The capture as a GA/T 1400 object with its pictures. */
  private async object(m: CaptureMessage, subject: UpSubject): Promise<Record<string, unknown>> {
    const res = viidResource(subject);
    const device = /^\d{20}$/.test(m.camera) ? m.camera : this.settings.deviceId;
    const shot = Date.parse(m.lastAt);
    const serial = createHash('sha1').update(m.id).digest().readUInt32BE(0) % 100_000;
    const imageId = (n: number) => `${device}02${localTime(shot)}${String((serial + n) % 100_000).padStart(5, '0')}`;
    const sourceId = imageId(0);
    const images: Array<Record<string, unknown>> = [];
    for (const [img, type, n] of [
      [m.crop, res.cropType, 0],
      [m.scene, '14', 1],
    ] as const) {
      if (!img) continue;
      const bytes = await this.image(img.sha256);
      if (!bytes) continue;
      images.push({
        ImageID: imageId(n),
        DeviceID: device,
        StoragePath: '',
        Type: type,
        FileFormat: img.mime === 'image/png' ? 'Png' : 'Jpeg',
        ShotTime: localTime(shot),
        ...(img.width ? { Width: img.width } : {}),
        ...(img.height ? { Height: img.height } : {}),
        Data: bytes.toString('base64'),
      });
    }
    if (!images.length) throw new Undeliverable('its pictures are no longer on the gateway (retention)');
    const first = localTime(Date.parse(m.firstAt));
    const last = localTime(shot);
    const common = {
      [res.idKey]: `${sourceId}${ID_TYPES[subject]}00001`,
      InfoKind: 1,
      SourceID: sourceId,
      DeviceID: device,
      SubImageList: { SubImageInfoObject: images },
    };
    if (subject === 'face') return { ...common, FaceAppearTime: first, FaceDisAppearTime: last, ShotTime: last };
    if (subject === 'person') return { ...common, PersonAppearTime: first, PersonDisAppearTime: last, ShotTime: last };
    return {
      ...common,
      HasPlate: m.plate ? '1' : '0',
      ...(m.plate ? { PlateNo: m.plate.text } : {}),
      ...(m.plate ? { PlateColor: m.plate.color ? gaColorCode(m.plate.color) : '99' } : {}),
      PassTime: last,
    };
  }
}
