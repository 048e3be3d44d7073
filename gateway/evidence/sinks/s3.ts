/**
 * The `s3` sink: PutObject into an S3-compatible bucket (MinIO, Ceph RGW and the object stores of
 * government clouds speak the same API) with @aws-sdk/client-s3, loaded only when this sink is
 * configured. The object's SHA-256 goes with it as ChecksumSHA256, so a store that checks it
 * refuses a corrupted upload instead of keeping it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { EvidenceLocation, EvidenceObject, EvidenceSink } from './types.js';

export interface S3SinkOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  publicUrl?: string;
  gatewayId: string;
}

export class S3EvidenceSink implements EvidenceSink {
  readonly type = 's3' as const;
  private client?: Promise<{ client: S3Client; put: typeof import('@aws-sdk/client-s3').PutObjectCommand }>;

  constructor(private readonly opts: S3SinkOptions) {}

  private connect() {
    // The SDK warns on Node 20 about its releases of 2027 (pinned in package.json: not this one); once is in the README.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client ??= import('@aws-sdk/client-s3').then((sdk) => ({
      client: new sdk.S3Client({
        region: this.opts.region,
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
        forcePathStyle: this.opts.forcePathStyle,
        credentials: { accessKeyId: this.opts.accessKeyId, secretAccessKey: this.opts.secretAccessKey },
        maxAttempts: 1, // the delivery queue retries, with its own backoff and counters
        // The SDK's default since 2025 (a CRC trailer in an aws-chunked body) is not understood by
        // many S3-compatible stores; the object's SHA-256 goes as a plain header instead.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
      put: sdk.PutObjectCommand,
    }));
    return this.client;
  }

  locate(object: EvidenceObject): EvidenceLocation {
    const base = this.opts.publicUrl?.replace(/\/$/, '');
    return { sink: 's3', key: `${this.opts.bucket}/${object.key}`, ...(base ? { url: `${base}/${object.key}` } : {}) };
  }

  async deliver(object: EvidenceObject, bytes: Buffer): Promise<void> {
    const { client, put } = await this.connect();
    try {
      await client.send(
        new put({
          Bucket: this.opts.bucket,
          Key: object.key,
          Body: bytes,
          ContentType: object.mime,
          ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64'),
          Metadata: {
            sha256: object.sha256,
            class: object.class,
            gateway: this.opts.gatewayId,
            ...(object.camera ? { camera: object.camera } : {}),
          },
        }),
      );
    } catch (err) {
      // The SDK's errors name the code (NoSuchBucket, InvalidAccessKeyId, SignatureDoesNotMatch) and never the secret.
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
      throw new Error(`s3 PutObject ${this.opts.bucket}/${object.key}: ${e.name ?? 'error'}${status} ${e.message ?? ''}`.trim());
    }
  }

  async close(): Promise<void> {
    if (this.client) (await this.client).client.destroy();
  }
}
