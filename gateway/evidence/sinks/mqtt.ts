/**
 * The `mqtt` sink: chunks over the upstream broker the gateway already reaches outbound
 * (contracts/evidence.ts has the format and a reference reassembler). Nothing new to open in
 * the community's firewall, nothing for the centre to reach.
 */
import { chunkEvidence, evidenceTopic } from '../../../contracts/evidence.js';
import type { EvidenceLocation, EvidenceObject, EvidenceSink } from './types.js';

export interface MqttPublisher {
  /** The upstream root, gridedge/v1/{grid}/{gatewayId}. */
  readonly root: string;
  /** Publishes at QoS 1 and resolves on PUBACK; rejects at once while the link is down. */
  publish(topic: string, payload: Buffer): Promise<void>;
}

export class MqttEvidenceSink implements EvidenceSink {
  readonly type = 'mqtt' as const;

  constructor(
    private readonly link: MqttPublisher,
    private readonly opts: { gatewayId: string; chunkBytes: number },
  ) {}

  locate(object: EvidenceObject): EvidenceLocation {
    return { sink: 'mqtt', key: object.key };
  }

  async deliver(object: EvidenceObject, bytes: Buffer): Promise<void> {
    const topic = evidenceTopic(this.link.root, object.sha256);
    const chunks = chunkEvidence(
      bytes,
      {
        sha256: object.sha256,
        mime: object.mime,
        class: object.class,
        gatewayId: this.opts.gatewayId,
        ...(object.camera ? { camera: object.camera } : {}),
        storedAt: new Date(object.storedAt).toISOString(),
      },
      this.opts.chunkBytes,
    );
    // In order, a few in flight: the object is delivered when every chunk has its PUBACK.
    const inFlight = 4;
    for (let i = 0; i < chunks.length; i += inFlight)
      await Promise.all(chunks.slice(i, i + inFlight).map((c) => this.link.publish(topic, c)));
  }
}
