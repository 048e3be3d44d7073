/**
 * SIP messages (RFC 3261 §7, §20, §25) as GB/T 28181 uses them: parsed from bytes with every
 * limit checked and every refusal named (so it can be counted), and written back. Header names
 * are case-insensitive and have compact forms (§7.3.3); a header may be folded over several lines
 * (§7.3.1), repeated, or carry several values joined by commas (§7.3). The body stays bytes: a
 * MANSCDP body is often GB2312, and only its parser knows.
 */

/** Why a message was refused: a label of `gb28181_sip_refused_total`. */
export type SipRefusal =
  | 'empty'
  | 'start_line'
  | 'version'
  | 'header'
  | 'missing_header'
  | 'cseq'
  | 'content_length'
  | 'too_large'
  | 'too_many_headers';

export class SipParseError extends Error {
  constructor(
    readonly reason: SipRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'SipParseError';
  }
}

export const SIP_LIMITS = {
  /** A UDP datagram cannot be larger; a TCP message larger than this is refused too. */
  maxMessageBytes: 65_535,
  maxHeaders: 128,
  maxHeaderBytes: 16_384,
} as const;

/** §7.3.3: the compact forms, and the long names they stand for. */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
};

/** How headers are spelled when written (RFC 3261's own spelling; others in Title-Case). */
const SPELLING: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'x-gb-ver': 'X-GB-Ver',
  'mime-version': 'MIME-Version',
};

/** Headers whose comma-joined values are separate values (§7.3.1); the others keep their commas. */
const LIST_HEADERS = new Set(['via', 'contact', 'route', 'record-route', 'allow', 'supported', 'require', 'accept', 'allow-events']);

/** Headers every message must have (§8.1.1, §8.2.6.2). */
const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'];

export function headerName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

function spell(name: string): string {
  return SPELLING[name] ?? name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** Splits a list header on commas outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === '<') angle++;
    else if (!quoted && c === '>') angle = Math.max(0, angle - 1);
    else if (!quoted && angle === 0 && c === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter(Boolean);
}

abstract class SipMessage {
  /** In order, names in lower-case long form. */
  headers: Array<[string, string]> = [];
  body: Buffer = Buffer.alloc(0);

  /** The first value of a header. */
  get(name: string): string | undefined {
    const n = headerName(name);
    for (const [k, v] of this.headers) {
      if (k === n) return LIST_HEADERS.has(n) ? splitList(v)[0] : v;
    }
    return undefined;
  }

  /** Every value of a header, list headers split on their commas. */
  getAll(name: string): string[] {
    const n = headerName(name);
    const values = this.headers.filter(([k]) => k === n).map(([, v]) => v);
    return LIST_HEADERS.has(n) ? values.flatMap(splitList) : values;
  }

  add(name: string, value: string | number): this {
    this.headers.push([headerName(name), String(value)]);
    return this;
  }

  set(name: string, value: string | number): this {
    const n = headerName(name);
    const i = this.headers.findIndex(([k]) => k === n);
    this.remove(n);
    this.headers.splice(i < 0 ? this.headers.length : i, 0, [n, String(value)]);
    return this;
  }

  remove(name: string): this {
    const n = headerName(name);
    this.headers = this.headers.filter(([k]) => k !== n);
    return this;
  }

  get callId(): string {
    return this.get('call-id') ?? '';
  }

  get cseq(): { seq: number; method: string } {
    return parseCSeq(this.get('cseq') ?? '');
  }

  protected abstract startLine(): string;

  /** The bytes on the wire; Content-Length always from the body (§20.14). */
  toBuffer(): Buffer {
    const lines = [this.startLine()];
    for (const [k, v] of this.headers) if (k !== 'content-length') lines.push(`${spell(k)}: ${v}`);
    lines.push(`Content-Length: ${this.body.length}`, '', '');
    return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), this.body]);
  }
}

export class SipRequest extends SipMessage {
  readonly type = 'request';
  constructor(
    public method: string,
    public uri: string,
  ) {
    super();
  }

  protected startLine(): string {
    return `${this.method} ${this.uri} SIP/2.0`;
  }
}

export class SipResponse extends SipMessage {
  readonly type = 'response';
  constructor(
    public status: number,
    public reason: string,
  ) {
    super();
  }

  protected startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

export type AnySipMessage = SipRequest | SipResponse;

/** Where the header section ends: the offset of the blank line and its length (CRLF CRLF, or LF LF from sloppy peers). */
export function headerEnd(buf: Buffer, from = 0): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n', from);
  const lf = buf.indexOf('\n\n', from);
  if (crlf < 0 && lf < 0) return undefined;
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

const METHOD = /^[A-Za-z][A-Za-z0-9.!%*_+`'~-]*$/;

/**
 * One message from one datagram (`stream: false`) or one framed TCP message (`stream: true`).
 * Over UDP the body may run to the end of the datagram when Content-Length is absent (§18.3);
 * over TCP Content-Length is mandatory and the framer has cut the message at it.
 */
export function parseMessage(buf: Buffer, opts: { stream: boolean }): AnySipMessage {
  if (buf.length > SIP_LIMITS.maxMessageBytes)
    throw new SipParseError('too_large', `message of ${buf.length} bytes (at most ${SIP_LIMITS.maxMessageBytes})`);
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++; // §7.5: leading CRLFs are ignored
  if (start >= buf.length) throw new SipParseError('empty', 'empty message');
  const end = headerEnd(buf, start);
  if (!end) throw new SipParseError('header', 'no blank line ends the headers');
  if (end.at - start > SIP_LIMITS.maxHeaderBytes)
    throw new SipParseError('too_large', `headers of ${end.at - start} bytes (at most ${SIP_LIMITS.maxHeaderBytes})`);
  const text = buf.toString('utf8', start, end.at);
  const lines = text.split(/\r?\n/);
  const msg = parseStartLine(lines[0]!);
  // §7.3.1: a line starting with white space continues the header above it.
  const unfolded: string[] = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && unfolded.length) unfolded[unfolded.length - 1] += ` ${line.trim()}`;
    else unfolded.push(line);
  }
  if (unfolded.length > SIP_LIMITS.maxHeaders)
    throw new SipParseError('too_many_headers', `${unfolded.length} headers (at most ${SIP_LIMITS.maxHeaders})`);
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!name || !/^[A-Za-z0-9.!%*_+`'~-]+$/.test(name)) throw new SipParseError('header', `not a header line: "${line.slice(0, 60)}"`);
    msg.headers.push([headerName(name), line.slice(colon + 1).trim()]);
  }
  // Max-Forwards is required of requests too (§8.1.1.6), but plenty of cameras leave it out: tolerated.
  for (const h of REQUIRED) if (!msg.get(h)) throw new SipParseError('missing_header', `no ${spell(h)} header`);
  const cseq = parseCSeq(msg.get('cseq')!);
  if (!Number.isInteger(cseq.seq) || cseq.seq < 0 || cseq.seq > 2 ** 31 || !METHOD.test(cseq.method))
    throw new SipParseError('cseq', `CSeq "${msg.get('cseq')}" is not a number and a method`);
  // §8.1.1.5: a request's CSeq names its own method (an ACK's and a CANCEL's too, §17.1.1.3, §9.1).
  if (msg.type === 'request' && cseq.method !== msg.method)
    throw new SipParseError('cseq', `CSeq method ${cseq.method} does not match ${msg.method}`);
  const rest = buf.subarray(end.at + end.length);
  const declared = msg.get('content-length');
  if (declared === undefined) {
    if (opts.stream) throw new SipParseError('content_length', 'no Content-Length on a stream transport (§18.3)');
    msg.body = Buffer.from(rest);
  } else {
    if (!/^\d{1,9}$/.test(declared)) throw new SipParseError('content_length', `Content-Length "${declared}" is not a number`);
    const length = Number(declared);
    if (length > rest.length)
      throw new SipParseError('content_length', `Content-Length ${length} but ${rest.length} bytes of body arrived`);
    // §18.3: bytes past Content-Length in a datagram are discarded.
    msg.body = Buffer.from(rest.subarray(0, length));
  }
  return msg;
}

function parseStartLine(line: string): AnySipMessage {
  const response = /^SIP\/(\d+\.\d+) (\d{3}) ?(.*)$/.exec(line);
  if (response) {
    if (response[1] !== '2.0') throw new SipParseError('version', `SIP version ${response[1]} (only 2.0)`);
    const status = Number(response[2]);
    if (status < 100 || status > 699) throw new SipParseError('start_line', `status ${status} out of range`);
    return new SipResponse(status, response[3] ?? '');
  }
  const request = /^([^ ]+) ([^ ]+) SIP\/(\d+\.\d+)$/.exec(line);
  if (!request) throw new SipParseError('start_line', `not a SIP start line: "${line.slice(0, 80)}"`);
  if (request[3] !== '2.0') throw new SipParseError('version', `SIP version ${request[3]} (only 2.0)`);
  if (!METHOD.test(request[1]!)) throw new SipParseError('start_line', `method "${request[1]!.slice(0, 20)}" is not a token`);
  if (!/^sips?:/i.test(request[2]!)) throw new SipParseError('start_line', `Request-URI "${request[2]!.slice(0, 80)}" is not a SIP URI`);
  return new SipRequest(request[1]!, request[2]!);
}

export function parseCSeq(value: string): { seq: number; method: string } {
  const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(value);
  return m ? { seq: Number(m[1]), method: m[2]! } : { seq: Number.NaN, method: '' };
}

export type Params = Record<string, string | null>;

function parseParams(s: string): Params {
  const params: Params = {};
  for (const part of s.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) params[p.toLowerCase()] = null;
    else
      params[p.slice(0, eq).trim().toLowerCase()] = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return params;
}

export function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`))
    .join('');
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  host: string;
  port?: number;
  params: Params;
}

/** `sip:user@host:port;params` (§19.1); headers after `?` are dropped. */
export function parseUri(uri: string): SipUri | undefined {
  const m = /^(sips?):(?:([^@;?]+)@)?(\[[0-9a-fA-F:.]+\]|[^:;?]+)(?::(\d{1,5}))?((?:;[^?]*)?)(?:\?.*)?$/i.exec(uri.trim());
  if (!m) return undefined;
  const port = m[4] ? Number(m[4]) : undefined;
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  return {
    scheme: m[1]!.toLowerCase() as 'sip' | 'sips',
    ...(m[2] ? { user: decodeURIComponent(m[2].split(':')[0]!) } : {}),
    host: m[3]!,
    ...(port ? { port } : {}),
    params: parseParams(m[5] ?? ''),
  };
}

export function formatUri(u: SipUri): string {
  return `${u.scheme}:${u.user ? `${u.user}@` : ''}${u.host}${u.port ? `:${u.port}` : ''}${formatParams(u.params)}`;
}

export interface NameAddr {
  display?: string;
  uri: string;
  params: Params;
}

/** From, To, Contact: `"name" <uri>;tag=…` or a bare `uri;tag=…` (§20.10, §20.20). */
export function parseNameAddr(value: string): NameAddr | undefined {
  const v = value.trim();
  const angled = /^(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>(.*)$/.exec(v);
  if (angled) {
    const display = (angled[1] ?? angled[2] ?? '').trim();
    return { ...(display ? { display } : {}), uri: angled[3]!.trim(), params: parseParams(angled[4] ?? '') };
  }
  if (v === '*') return { uri: '*', params: {} };
  // Without angle brackets, parameters after the URI belong to the header (§20.10).
  const semi = v.indexOf(';');
  const uri = semi < 0 ? v : v.slice(0, semi);
  if (!/^sips?:/i.test(uri)) return undefined;
  return { uri, params: parseParams(semi < 0 ? '' : v.slice(semi)) };
}

export function formatNameAddr(a: NameAddr): string {
  const display = a.display ? `"${a.display.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${display}<${a.uri}>${formatParams(a.params)}`;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Params;
}

/** `SIP/2.0/UDP host:port;branch=z9hG4bK…;rport` (§20.42). */
export function parseVia(value: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9a-fA-F:.]+\]|[^:;\s]+)(?::(\d{1,5}))?\s*((?:;.*)?)$/i.exec(value.trim());
  if (!m) return undefined;
  return {
    transport: m[1]!.toUpperCase(),
    host: m[2]!,
    ...(m[3] ? { port: Number(m[3]) } : {}),
    params: parseParams(m[4] ?? ''),
  };
}

export function formatVia(v: Via): string {
  return `SIP/2.0/${v.transport} ${v.host}${v.port ? `:${v.port}` : ''}${formatParams(v.params)}`;
}

/** §8.2.6.2: a response copies Via, From, To, Call-ID and CSeq; To gets a tag (ours) past 100. */
export function responseTo(req: SipRequest, status: number, reason: string, toTag?: string): SipResponse {
  const res = new SipResponse(status, reason);
  for (const v of req.getAll('via')) res.add('via', v);
  res.add('from', req.get('from')!);
  const to = req.get('to')!;
  const parsed = parseNameAddr(to);
  res.add('to', status > 100 && toTag && parsed && parsed.params.tag === undefined ? `${to};tag=${toTag}` : to);
  res.add('call-id', req.callId);
  res.add('cseq', req.get('cseq')!);
  return res;
}

export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  423: 'Interval Too Brief',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};
