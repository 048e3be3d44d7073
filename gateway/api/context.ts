/** What the API can see and do: the gateway implements this; routes use nothing else. */
import type { Static } from '@sinclair/typebox';
import type { HttpRoute } from '../../devices/types.js';
import type { EvidenceStore } from '../evidence/store.js';
import type { EvidenceAccessLog } from '../evidence/access-log.js';
import type { PurgeReport, PurgeRequest } from '../captures/purge.js';
import type { CaptureMessage } from '../../contracts/capture.js';
import type { SourceHealth } from '../sources.js';
import type { DigestResult } from '../../core/http-digest.js';
import type { PushRequest } from '../../devices/sources/types.js';
import type { LifecycleCommand } from '../../contracts/commands.js';
import type { CommandResult, IncidentQuery } from '../incidents/manager.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import type { ApiToken } from './auth.js';
import type {
  CameraHealthSchema,
  VisionSchema,
  DeviceDetailSchema,
  DeviceSchema,
  HealthSchema,
  NewDeviceSchema,
  VideoSourceSchema,
  Gb28181Schema,
} from './schemas.js';

export type Health = Static<typeof HealthSchema>;
export type DeviceView = Static<typeof DeviceSchema>;
export type DeviceDetail = Static<typeof DeviceDetailSchema>;
export type NewDevice = Static<typeof NewDeviceSchema>;
export type VideoSourceView = Static<typeof VideoSourceSchema>;
export type CameraView = Static<typeof CameraHealthSchema>;
export type VisionView = Static<typeof VisionSchema>;
export type Gb28181View = Static<typeof Gb28181Schema>;

export interface ApiContext {
  health(): Health;
  ready(): { ready: boolean; problems: string[] };
  devices(): DeviceView[];
  device(id: string): DeviceDetail | undefined;
  /** Provisions a device live; resolves to its secret when one was generated. */
  addDevice(input: NewDevice): Promise<{ id: string; secret?: string }>;
  /** Removes a provisioned device; throws GE_ERR_DEVICE_NOT_FOUND or GE_ERR_DEVICE_IN_CONFIG. */
  removeDevice(id: string): Promise<void>;
  incidents(q: IncidentQuery): IncidentMessage[];
  incident(id: string): IncidentMessage | undefined;
  command(id: string, command: LifecycleCommand, fields: { by?: string; assignee?: string; note?: string }): Promise<CommandResult>;
  onIncident(listener: (m: IncidentMessage) => void): () => void;
  videoSources(): VideoSourceView[];
  cameras(): CameraView[];
  /** A fresh JPEG from the camera; undefined when there is no such camera. */
  cameraSnapshot(id: string): Promise<Buffer> | undefined;
  /** A camera's push (ISAPI httpHosts) signed in, before its body is read: undefined for a camera that does not push. */
  isapiPushAuth(camera: string, method: string, url: string, authorization: string | undefined): DigestResult | undefined;
  isapiPush(camera: string, contentType: string | undefined, body: Buffer): { ok: true } | { ok: false; why: string };
  /** The camera's last detector frame with boxes drawn; undefined: no such camera; resolves undefined: no frame yet. */
  cameraFrame(id: string): Promise<{ jpeg: Buffer; at: number; detections: number } | undefined> | undefined;
  /** Detector workers, what each camera's detectors see, and the latest captures. */
  vision(limit: number): VisionView;
  /** GB/T 28181, when configured. */
  gb28181(): Gb28181View | undefined;
  config(): unknown;
  metrics(): Promise<string>;
  evidence: { store: EvidenceStore; secret: string; access: EvidenceAccessLog };
  /** The sources and what each offers for adoption. */
  sources(): SourceHealth[];
  /** The push endpoints to serve, and a pushed request into its source. */
  pushSources(): Array<{ source: string; path: string }>;
  push(source: string, req: PushRequest): { status: number; body: string };
  /** The latest capture messages, newest first. */
  captures(limit: number): CaptureMessage[];
  /** Removes a subject's captures by plate or capture id. */
  purgeCaptures(req: PurgeRequest): Promise<PurgeReport>;
}

export interface ApiOptions {
  host: string;
  port: number;
  tokens: ApiToken[];
  /** Routes device kinds add (GA/T 1400 uploads, registries). */
  routes: HttpRoute[];
  version: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: Buffer; key: Buffer };
}
