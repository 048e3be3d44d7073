/**
 * Evidence as the gateway uses it: images stored by content (counted per class), what an
 * incident carries for each (sha256, a signed link, the bytes inline when small and allowed),
 * and the sweep that deletes what is past its class's retention.
 */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import { FaceDetector } from '../../detectors/face/blazeface.js';
import { detectText } from '../../detectors/plate/ocr.js';
import type { Box, RgbImage } from '../../detectors/types.js';
import type { Logger } from '../../core/log.js';
import type { EvidenceInput } from '../../devices/types.js';
import type { Config } from '../config/schema.js';
import type { EvidenceItem } from '../incidents/manager.js';
import { every, type Service } from '../services.js';
import { evidenceUrl } from './links.js';
import { linkSecret } from './secret.js';
import { type EvidenceRef, EvidenceStore } from './store.js';
import { EvidencePush } from './push.js';
import { EvidenceAccessLog } from './access-log.js';
import { Masker, type RegionFinder, thumbnail } from './privacy.js';
import type { EvidenceLocation, EvidenceSink } from './sinks/index.js';

export class Evidence {
  readonly store: EvidenceStore;
  /** Signs evidence links (the config's, or one generated once and kept in the data folder). */
  readonly linkSecret: string;
  /** Where evidence links point; follows the API's real port when the system picked it (port 0). */
  private publicUrl: string;
  /** Deletes expired evidence every `evidence.sweepIntervalMinutes`. */
  readonly sweeper: Service;
  /** Pushes evidence to the centre, when a sink is configured (`pushThrough`). */
  push?: EvidencePush;
  /** Blurs faces and plates in what leaves the gateway (evidence.privacy). */
  readonly masker: Masker;
  /** Every read of evidence through the API. */
  readonly accessLog: EvidenceAccessLog;

  constructor(
    private readonly config: Config,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {
    this.store = new EvidenceStore({ dir: path.join(config.dataDir, 'evidence'), retentionHours: config.evidence.retentionHours });
    this.linkSecret = linkSecret(config.api.linkSecret, path.join(config.dataDir, 'state'));
    this.publicUrl = config.api.publicUrl ?? `${this.scheme}://${config.api.host}:${config.api.port}`;
    this.sweeper = every('evidence sweep', config.evidence.sweepIntervalMinutes * 60_000, () => this.sweep(), { log });
    this.accessLog = new EvidenceAccessLog(path.join(config.dataDir, 'state'), config.evidence.accessLog.maxDays);
    this.masker = new Masker(new Set(config.evidence.privacy.allow), { face: faceFinder(), plate: plateFinder() });
  }

  /** Pushes every evidence object of an incident, a capture or a snapshot reply through `sink` from now on. */
  pushThrough(sink: EvidenceSink | undefined): void {
    if (!sink) return;
    const { config } = this;
    this.push = new EvidencePush(sink, {
      dir: path.join(config.dataDir, 'evidence-push'),
      store: this.store,
      keyPrefix: config.evidence.push.keyPrefix,
      gatewayId: config.gateway.id,
      maxPendingMB: config.evidence.push.maxPendingMB,
      maxPendingHours: config.evidence.push.maxPendingHours,
      counters: this.counters,
      log: this.log.child({ sink: sink.type }),
    });
  }

  /** The push queue as a service: delivers from start until stop. */
  get pusher(): Service {
    return { name: 'evidence push', start: () => this.push?.start(), stop: () => this.push?.stop() };
  }

  /**
   * Something leaves the gateway: an upstream broker, a push sink or the city's 视图库
   * (captures.viid) exists. Only then are faces and plates masked; a gateway with none keeps its
   * images to its own token-guarded API.
   */
  private get outbound(): boolean {
    return Boolean(this.config.upstream || this.push || this.config.captures.viid);
  }

  /** The API is listening on `port`: links point there unless `api.publicUrl` says otherwise. */
  listeningOn(port: number): void {
    if (!this.config.api.publicUrl) this.publicUrl = `${this.scheme}://${this.config.api.host}:${port}`;
  }

  private get scheme(): 'http' | 'https' {
    return this.config.api.tls ? 'https' : 'http';
  }

  /** Stores one image (content-addressed, durable) and counts it. */
  async put(input: EvidenceInput): Promise<EvidenceRef> {
    const ref = await this.store.put(input.bytes, input.class, input.mime);
    this.counters.inc('evidence_stored_total', { class: input.class });
    return ref;
  }

  /**
   * Stores one image and returns what the incident (or a capture, or a snapshot reply) carries
   * for it: the image as it may leave the gateway (masked unless evidence.privacy allows), its
   * signed link, where the push sink will put it (queued durably before this resolves, so before
   * the message naming it is stored), a thumbnail and, when small, the bytes inline.
   */
  async forIncident(input: EvidenceInput): Promise<EvidenceItem> {
    const { evidence } = this.config;
    const { ref, original, bytes, masked, delivery } = await this.outgoing(input);
    const thumb = evidence.thumbnails.enabled ? await thumbnail(bytes, evidence.thumbnails).catch(() => undefined) : undefined;
    const inline = evidence.inline && bytes.length <= evidence.inlineMaxBytes;
    return {
      kind: 'image' as const,
      sha256: ref.sha256,
      class: ref.class,
      mime: ref.mime,
      bytes: ref.bytes,
      url: this.linkTo(ref.sha256),
      ...(delivery ? { delivery } : {}),
      ...(masked ? { masked: true, original: original.sha256 } : {}),
      ...(input.camera ? { camera: input.camera } : {}),
      ...(input.boxes ? { boxes: input.boxes } : {}),
      ...(thumb
        ? { thumbnail: { mime: 'image/jpeg' as const, width: thumb.width, height: thumb.height, inline: thumb.bytes.toString('base64') } }
        : {}),
      ...(inline ? { inline: bytes.toString('base64') } : {}),
    };
  }

  /** A signed link to stored evidence, valid for `evidence.linkTtlHours`. */
  linkTo(sha256: string): string {
    return evidenceUrl(this.publicUrl, this.linkSecret, sha256, this.config.evidence.linkTtlHours * 3600);
  }

  /**
   * The image as it may leave: stored as given, masked (and the masked copy stored) when the
   * gateway sends anything out, and queued for the push sink before this resolves.
   */
  async outgoing(input: EvidenceInput): Promise<{
    ref: EvidenceRef;
    original: EvidenceRef;
    bytes: Buffer;
    masked: boolean;
    delivery?: EvidenceLocation;
  }> {
    const original = await this.put(input);
    let ref = original;
    let bytes = input.bytes;
    let masked = false;
    if (this.outbound) {
      const out = await this.masker.mask(input.bytes, input.mime, input.class, input.boxes).catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'masking failed; the image is withheld');
        return undefined;
      });
      if (!out) throw new Error('masking failed: the image cannot leave the gateway');
      if (out.masked) {
        this.counters.inc('evidence_masked_total', { class: input.class, whole: String(out.masked.whole) });
        ref = await this.put({ ...input, bytes: out.bytes, mime: out.mime });
        bytes = out.bytes;
        masked = true;
      }
    }
    const delivery = this.push ? await this.push.enqueue(ref, input.camera) : undefined;
    return { ref, original, bytes, masked, ...(delivery ? { delivery } : {}) };
  }

  /** Deletes evidence past its class's retention; counted per class. */
  async sweep(): Promise<void> {
    const deleted = await this.store.sweep();
    for (const [cls, n] of Object.entries(deleted)) this.counters.inc('evidence_expired_total', { class: cls }, n);
    if (Object.keys(deleted).length) this.log.info({ deleted }, 'expired evidence deleted');
    const pruned = await this.accessLog.prune();
    if (pruned) this.log.info({ entries: pruned }, 'evidence access log entries past evidence.accessLog.maxDays deleted');
  }
}

/** One call at a time per finder: the detectors reuse their buffers between calls. */
function serial(find: RegionFinder): RegionFinder {
  let last: Promise<unknown> = Promise.resolve();
  return (image) => {
    const run = last.then(() => find(image));
    last = run.catch(() => undefined);
    return run;
  };
}

/** Faces for masking: BlazeFace with a low threshold (a blurred non-face costs less than a face left clear). */
function faceFinder(): RegionFinder {
  let detector: FaceDetector | undefined;
  return serial(async (image: RgbImage): Promise<Box[]> => {
    detector ??= new FaceDetector({ minScore: 0.5 });
    return (await detector.detect(image)).map((d) => d.box);
  });
}

/** Plates for masking: every text region the OCR's detector finds, read or not. */
function plateFinder(): RegionFinder {
  return serial(async (image: RgbImage): Promise<Box[]> => (await detectText(image)).map((r) => r.box));
}
