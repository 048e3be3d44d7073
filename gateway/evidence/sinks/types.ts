/**
 * Evidence sinks: where the gateway pushes each evidence object so the centre has it without
 * reaching into the community's network. A sink declares itself in its own file and is added to
 * `index.ts` with one line; the delivery queue (../push.ts) gives every sink the same guarantees
 * (stored first, at least once, ordered, bounded, counted).
 */
import type { EvidenceClass } from '../../../contracts/incident.js';

/** One object to push: what the incident names, and where the sink puts it. */
export interface EvidenceObject {
  sha256: string;
  class: EvidenceClass;
  mime: string;
  bytes: number;
  camera?: string;
  /** When the gateway stored it, ms. */
  storedAt: number;
  /** The platform-side key: <keyPrefix><gateway id>/<sha256>.<ext>. */
  key: string;
}

/** Where the object will be, as the incident says it as soon as it is published. */
export interface EvidenceLocation {
  sink: 'mqtt' | 'http' | 's3';
  key: string;
  url?: string;
}

export interface EvidenceSink {
  readonly type: EvidenceLocation['sink'];
  locate(object: EvidenceObject): EvidenceLocation;
  /** Resolves once the far side has the bytes; throws to be retried, or `Undeliverable` to give up. */
  deliver(object: EvidenceObject, bytes: Buffer): Promise<void>;
  close?(): Promise<void>;
}

export function extensionOf(mime: string): string {
  return mime === 'image/jpeg' ? '.jpg' : mime === 'image/png' ? '.png' : mime === 'video/mp4' ? '.mp4' : '';
}
