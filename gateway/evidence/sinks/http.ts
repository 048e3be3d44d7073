/**
 * The `http` sink: each object PUT (or POSTed) to `<url>/<key>`, with its sha256, class and
 * gateway in headers and an optional bearer token. A 2xx is delivered; 408, 429 and 5xx or no
 * answer are retried; another 4xx is a misconfiguration (a wrong token, a wrong path) that a
 * retry after the fix will pass, so it is retried too, at the longest backoff, and logged.
 */
import { maskUrl } from '../../../core/secrets.js';
import type { EvidenceLocation, EvidenceObject, EvidenceSink } from './types.js';

export interface HttpSinkOptions {
  url: string;
  method: 'PUT' | 'POST';
  token?: string;
  publicUrl?: string;
  timeoutSeconds: number;
  gatewayId: string;
}

export class HttpEvidenceSink implements EvidenceSink {
  readonly type = 'http' as const;

  constructor(private readonly opts: HttpSinkOptions) {}

  private target(base: string, key: string): string {
    return `${base.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  locate(object: EvidenceObject): EvidenceLocation {
    return { sink: 'http', key: object.key, url: this.target(this.opts.publicUrl ?? this.opts.url, object.key) };
  }

  async deliver(object: EvidenceObject, bytes: Buffer): Promise<void> {
    const url = this.target(this.opts.url, object.key);
    let res: Response;
    try {
      res = await fetch(url, {
        method: this.opts.method,
        body: bytes,
        headers: {
          'content-type': object.mime,
          'x-gridedge-sha256': object.sha256,
          'x-gridedge-class': object.class,
          'x-gridedge-gateway': this.opts.gatewayId,
          ...(object.camera ? { 'x-gridedge-camera': object.camera } : {}),
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
        },
        signal: AbortSignal.timeout(this.opts.timeoutSeconds * 1000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`${this.opts.method} ${maskUrl(url)}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    await res.arrayBuffer().catch(() => undefined); // let the connection be reused
    if (!res.ok) throw new Error(`${this.opts.method} ${maskUrl(url)}: HTTP ${res.status} ${res.statusText}`);
  }
}
