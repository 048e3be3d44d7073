/**
 * The client side of GA/T 1400 over HTTP: requests as a device (or a lower system) signed in
 * with HTTP Digest as its DeviceID, the nonce count growing with each request on one challenge
 * (RFC 7616 §3.4), and the challenge answered again when the server sends a new one (a stale
 * nonce, a restarted server). Used by the gateway's upward client and by the simulated cameras.
 */
import { digestAuthorization } from '../../core/http-digest.js';

export interface ViidAnswer {
  status: number;
  body: Record<string, unknown>;
}

export class ViidHttpClient {
  private challenge?: string;
  private count = 0;

  constructor(
    private readonly baseUrl: string,
    readonly deviceId: string,
    private readonly password: string,
    private readonly timeoutMs = 10_000,
  ) {}

  post(path: string, body: unknown): Promise<ViidAnswer> {
    return this.request('POST', path, body);
  }

  get(path: string): Promise<ViidAnswer> {
    return this.request('GET', path);
  }

  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ViidAnswer> {
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const send = (authorization?: string) =>
      fetch(`${this.baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/VIID+JSON;charset=UTF-8' } : {}),
          ...(authorization ? { authorization } : {}),
        },
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    const sign = () => digestAuthorization(this.challenge!, this.deviceId, this.password, method, path, ++this.count);
    let res = await send(this.challenge ? sign() : undefined);
    if (res.status === 401) {
      await res.arrayBuffer();
      const challenge = res.headers.get('www-authenticate');
      if (!challenge) throw new Error(`${path}: HTTP 401 without a challenge`);
      this.challenge = challenge;
      this.count = 0;
      res = await send(sign());
    }
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    if (text) {
      try {
        const v = JSON.parse(text) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
      } catch {
        parsed = {};
      }
    }
    return { status: res.status, body: parsed };
  }
}

type Status = { code?: number; text?: string };

function readStatus(s: unknown): Status {
  if (!s || typeof s !== 'object') return {};
  const { StatusCode, StatusString } = s as { StatusCode?: unknown; StatusString?: unknown };
  const code = Number(StatusCode);
  return { ...(Number.isFinite(code) ? { code } : {}), ...(typeof StatusString === 'string' ? { text: StatusString.slice(0, 200) } : {}) };
}

/** Every status of an answer: a single one (Register, Keepalive) or a list's, in order. */
export function viidStatuses(body: Record<string, unknown>): Status[] {
  const one = body.ResponseStatusObject;
  if (one) return [readStatus(one)];
  const list = (body.ResponseStatusListObject as { ResponseStatusObject?: unknown } | undefined)?.ResponseStatusObject;
  return Array.isArray(list) ? list.map(readStatus) : [];
}

/** The StatusCode and StatusString of a single answer (Register, Keepalive) or of a list's first. */
export function viidStatus(body: Record<string, unknown>): Status {
  return viidStatuses(body)[0] ?? {};
}
