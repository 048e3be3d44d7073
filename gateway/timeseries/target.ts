/**
 * Where readings are written: an InfluxDB 2 write API (`/api/v2/write`, org + bucket + token; also
 * what victoria-metrics and InfluxDB 1.8+ accept) or an InfluxDB 1.x one (`/write`, database,
 * retention policy, user and password). One POST of line protocol, without retries: callers
 * decide what a failure means, from its status.
 */
import { gzipSync } from 'node:zlib';

export interface SeriesTarget {
  /** 2 (the default): `/api/v2/write`; 1: InfluxDB 1.x `/write`. */
  version?: 1 | 2;
  url: string;
  /** v2. */
  token?: string;
  org?: string;
  bucket?: string;
  /** v1. */
  database?: string;
  retentionPolicy?: string;
  username?: string;
  password?: string;
}

export class WriteError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the server answered. */
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

/**
 * Whether the server refused the lines themselves (a type conflict, a malformed line, too large):
 * sending them again unchanged cannot succeed. 408 and 429 are the server's state, not the lines'.
 */
export function isRefusal(err: unknown): boolean {
  const s = (err as { statusCode?: number } | undefined)?.statusCode;
  return s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429 && s !== 401 && s !== 403 && s !== 404;
}

function writeUrl(t: SeriesTarget): string {
  const base = t.url.replace(/\/$/, '');
  if (t.version === 1) {
    const q = new URLSearchParams({ db: t.database ?? 'gridedge', precision: 'ms' });
    if (t.retentionPolicy) q.set('rp', t.retentionPolicy);
    return `${base}/write?${q}`;
  }
  return `${base}/api/v2/write?${new URLSearchParams({ org: t.org ?? '', bucket: t.bucket ?? 'gridedge', precision: 'ms' })}`;
}

function authorization(t: SeriesTarget): string | undefined {
  if (t.version === 2) return t.token ? `Token ${t.token}` : undefined;
  return t.username ? `Basic ${Buffer.from(`${t.username}:${t.password ?? ''}`).toString('base64')}` : undefined;
}

/** Writes the lines in one request; resolves when the server took them, throws a WriteError otherwise. */
export async function postLines(target: SeriesTarget, lines: readonly string[], timeoutMs = 30_000): Promise<void> {
  const text = `${lines.join('\n')}\n`;
  const gzip = text.length > 4096;
  const auth = authorization(target);
  let res: Response;
  try {
    res = await fetch(writeUrl(target), {
      method: 'POST',
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        ...(auth ? { authorization: auth } : {}),
      },
      body: gzip ? gzipSync(text) : text,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new WriteError(`the series server is unreachable: ${(err as Error).message}`);
  }
  if (res.ok) {
    await res.arrayBuffer();
    return;
  }
  const body = (await res.text().catch(() => '')).slice(0, 500);
  throw new WriteError(`HTTP ${res.status}${body ? `: ${body}` : ''}`, res.status);
}

/** The target the config's `influx` section names. */
export function seriesTarget(influx: {
  version: 1 | 2;
  url: string;
  token?: string | undefined;
  org?: string | undefined;
  bucket: string;
  database?: string | undefined;
  retentionPolicy?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}): SeriesTarget {
  const { version, url } = influx;
  if (version === 1) {
    return {
      version,
      url,
      database: influx.database ?? 'gridedge',
      ...(influx.retentionPolicy ? { retentionPolicy: influx.retentionPolicy } : {}),
      ...(influx.username ? { username: influx.username, password: influx.password ?? '' } : {}),
    };
  }
  return { version, url, token: influx.token ?? '', org: influx.org ?? '', bucket: influx.bucket };
}
