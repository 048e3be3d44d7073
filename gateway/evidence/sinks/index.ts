/** The evidence sinks, one line each; `evidence.push.sink` picks one. */
import type { Config } from '../../config/schema.js';
import { HttpEvidenceSink } from './http.js';
import { MqttEvidenceSink, type MqttPublisher } from './mqtt.js';
import { S3EvidenceSink } from './s3.js';
import type { EvidenceSink } from './types.js';

export type { EvidenceLocation, EvidenceObject, EvidenceSink } from './types.js';
export type { MqttPublisher } from './mqtt.js';

/** The sink the config asks for, or none (`none`, or `auto` without an upstream broker). */
export function evidenceSink(config: Config, mqtt: MqttPublisher | undefined): EvidenceSink | undefined {
  const push = config.evidence.push;
  const gatewayId = config.gateway.id;
  const sink = push.sink === 'auto' ? (mqtt ? 'mqtt' : 'none') : push.sink;
  switch (sink) {
    case 'mqtt':
      return mqtt ? new MqttEvidenceSink(mqtt, { gatewayId, chunkBytes: push.chunkBytes }) : undefined;
    case 'http':
      return push.http ? new HttpEvidenceSink({ ...push.http, gatewayId }) : undefined;
    case 's3':
      return push.s3?.secretAccessKey ? new S3EvidenceSink({ ...push.s3, secretAccessKey: push.s3.secretAccessKey, gatewayId }) : undefined;
    case 'none':
      return undefined;
  }
}
