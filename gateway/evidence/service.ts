/**
 * Evidence as the gateway uses it: images stored by content (counted per class), what an
 * incident carries for each (sha256, a signed link, the bytes inline when small and allowed),
 * and the sweep that deletes what is past its class's retention.
 */
import path from 'node:path';
import type { Counters } from '../../core/counters.js';
import type { Logger } from '../../core/log.js';
import type { EvidenceInput } from '../../devices/types.js';
import type { Config } from '../config/schema.js';
import type { EvidenceItem } from '../incidents/manager.js';
import { every, type Service } from '../services.js';
import { evidenceUrl } from './links.js';
import { linkSecret } from './secret.js';
import { type EvidenceRef, EvidenceStore } from './store.js';

export class Evidence {
  readonly store: EvidenceStore;
  /** Signs evidence links (the config's, or one generated once and kept in the data folder). */
  readonly linkSecret: string;
  /** Where evidence links point; follows the API's real port when the system picked it (port 0). */
  private publicUrl: string;
  /** Deletes expired evidence every `evidence.sweepIntervalMinutes`. */
  readonly sweeper: Service;

  constructor(
    private readonly config: Config,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {
    this.store = new EvidenceStore({ dir: path.join(config.dataDir, 'evidence'), retentionHours: config.evidence.retentionHours });
    this.linkSecret = linkSecret(config.api.linkSecret, path.join(config.dataDir, 'state'));
    this.publicUrl = config.api.publicUrl ?? `${this.scheme}://${config.api.host}:${config.api.port}`;
    this.sweeper = every('evidence sweep', config.evidence.sweepIntervalMinutes * 60_000, () => this.sweep(), { log });
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

  /** Stores one image and returns what the incident carries for it. */
  async forIncident(input: EvidenceInput): Promise<EvidenceItem> {
    const { evidence } = this.config;
    const ref = await this.put(input);
    const inline = evidence.inline && input.bytes.length <= evidence.inlineMaxBytes;
    return {
      kind: 'image' as const,
      sha256: ref.sha256,
      class: ref.class,
      mime: ref.mime,
      bytes: ref.bytes,
      url: evidenceUrl(this.publicUrl, this.linkSecret, ref.sha256, evidence.linkTtlHours * 3600),
      ...(input.camera ? { camera: input.camera } : {}),
      ...(input.boxes ? { boxes: input.boxes } : {}),
      ...(inline ? { inline: input.bytes.toString('base64') } : {}),
    };
  }

  /** Deletes evidence past its class's retention; counted per class. */
  async sweep(): Promise<void> {
    const deleted = await this.store.sweep();
    for (const [cls, n] of Object.entries(deleted)) this.counters.inc('evidence_expired_total', { class: cls }, n);
    if (Object.keys(deleted).length) this.log.info({ deleted }, 'expired evidence deleted');
  }
}
