/**
 * A SIP endpoint: the transaction layer of RFC 3261 §17 over the transport, for the gateway as
 * a registrar and as a lower platform, and for the simulator's cameras and upper platform.
 *
 * - Client transactions retransmit over UDP at T1, doubling (to T2 for non-INVITE, §17.1.2.2),
 *   and give up after 64·T1 (Timer B / F). A final non-2xx answer to an INVITE is ACKed in the
 *   transaction (§17.1.1.3); a 2xx is ACKed by the caller, and its retransmissions are ACKed again.
 * - Server transactions absorb retransmitted requests by sending the last response again
 *   (§17.2.1, §17.2.2); an INVITE gets 100 Trying at once; a 2xx to an INVITE is retransmitted
 *   over UDP until its ACK arrives (§13.3.1.4); CANCEL ends a pending INVITE with 487 (§9.2).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { digestAuthorization } from '../../../core/http-digest.js';
import { type AnySipMessage, formatVia, parseVia, REASONS, responseTo, SipRequest, type SipResponse } from './message.js';
import type { SipPeer, SipTransport } from './transport.js';

export const MAGIC_COOKIE = 'z9hG4bK';

export interface SipTimers {
  /** RTT estimate, 500 ms by default (§17.1.1.1). */
  t1: number;
  /** Longest retransmission interval for non-INVITE requests, 4 s (§17.1.2.2). */
  t2: number;
}

export class SipTimeoutError extends Error {
  constructor(method: string, peer: SipPeer, ms: number) {
    super(`${method} to ${peer.address}:${peer.port} over ${peer.transport.toUpperCase()}: no answer in ${Math.round(ms / 1000)} s`);
    this.name = 'SipTimeoutError';
  }
}

export interface ReplyOptions {
  reason?: string;
  headers?: Array<[string, string | number]>;
  body?: Buffer;
  contentType?: string;
}

export interface IncomingRequest {
  req: SipRequest;
  peer: SipPeer;
  /** Sends the final (or a provisional) response; the last one is kept for retransmissions. */
  reply(status: number, opts?: ReplyOptions): SipResponse;
}

export interface SipEndpointEvents {
  request: [incoming: IncomingRequest];
  /** An ACK for a 2xx we sent to an INVITE (its own transaction, §13.3.1.4). */
  ack: [req: SipRequest, peer: SipPeer];
  /** A response no transaction of ours was waiting for. */
  stray: [res: SipResponse, peer: SipPeer];
}

export interface SipEndpointOptions {
  transport: SipTransport;
  /** The address others reach us at, for Via and Contact. */
  publicHost: string;
  userAgent: string;
  timers?: Partial<SipTimers>;
}

interface ClientTx {
  req: SipRequest;
  method: string;
  resolve: (res: SipResponse) => void;
  reject: (err: Error) => void;
  timers: NodeJS.Timeout[];
  provisional?: (res: SipResponse) => void;
  proceeding: boolean;
}

interface ServerTx {
  method: string;
  last?: SipResponse;
  reply?: IncomingRequest['reply'];
  peer: SipPeer;
  final: boolean;
  expires: NodeJS.Timeout;
}

export const newTag = (): string => randomBytes(6).toString('hex');
export const newBranch = (): string => `${MAGIC_COOKIE}${randomBytes(8).toString('hex')}`;

export class SipEndpoint extends EventEmitter<SipEndpointEvents> {
  readonly timers: SipTimers;
  private readonly client = new Map<string, ClientTx>();
  private readonly server = new Map<string, ServerTx>();
  /** 2xx answers to our INVITEs, by Call-ID and CSeq: a retransmission of one is ACKed again. */
  private readonly acks = new Map<string, { ack: SipRequest; peer: SipPeer; expires: NodeJS.Timeout }>();
  /** 2xx answers we sent to INVITEs, retransmitted until their ACK comes. */
  private readonly unacked = new Map<string, NodeJS.Timeout>();
  /** A stable local tag for the To header of each request we answer (by its Call-ID and From tag). */
  readonly localTag = newTag();
  private closed = false;

  constructor(readonly opts: SipEndpointOptions) {
    super();
    this.timers = { t1: opts.timers?.t1 ?? 500, t2: opts.timers?.t2 ?? 4000 };
    opts.transport.on('message', (msg, peer) => this.receive(msg, peer));
  }

  get transport(): SipTransport {
    return this.opts.transport;
  }

  /** Our Contact URI for a user (our SIP id), on the transport a peer uses. */
  contact(user: string, peer: SipPeer): string {
    const t = peer.transport === 'tcp' ? ';transport=tcp' : '';
    return `<sip:${user}@${this.opts.publicHost}:${this.opts.transport.port}${t}>`;
  }

  close(): void {
    this.closed = true;
    for (const tx of this.client.values()) {
      for (const t of tx.timers) clearTimeout(t);
      tx.reject(new Error('SIP endpoint stopped'));
    }
    this.client.clear();
    for (const tx of this.server.values()) clearTimeout(tx.expires);
    this.server.clear();
    for (const a of this.acks.values()) clearTimeout(a.expires);
    this.acks.clear();
    for (const t of this.unacked.values()) clearTimeout(t);
    this.unacked.clear();
  }

  /**
   * Sends a request and resolves with its final response (rejects with SipTimeoutError after 64·T1,
   * or `timeoutMs`). Via, Max-Forwards and User-Agent are filled in here.
   */
  request(req: SipRequest, peer: SipPeer, opts: { timeoutMs?: number; onProvisional?: (res: SipResponse) => void } = {}) {
    if (this.closed) return Promise.reject(new Error('SIP endpoint stopped'));
    const branch = newBranch();
    req.remove('via');
    req.headers.unshift(['via', this.via(peer, branch)]);
    if (!req.get('max-forwards')) req.set('max-forwards', 70);
    if (!req.get('user-agent')) req.set('user-agent', this.opts.userAgent);
    const method = req.method;
    const key = `${branch}|${method}`;
    const timeoutMs = opts.timeoutMs ?? 64 * this.timers.t1;
    return new Promise<SipResponse>((resolve, reject) => {
      const tx: ClientTx = { req, method, resolve, reject, timers: [], proceeding: false, provisional: opts.onProvisional };
      this.client.set(key, tx);
      const fail = (err: Error) => {
        this.endClient(key);
        reject(err);
      };
      this.opts.transport.send(req, peer).catch(fail);
      tx.timers.push(setTimeout(() => fail(new SipTimeoutError(method, peer, timeoutMs)), timeoutMs));
      if (peer.transport === 'udp') {
        let interval = this.timers.t1;
        const again = () => {
          if (!this.client.has(key)) return;
          // An INVITE stops retransmitting on a provisional answer; other requests slow to T2 (§17.1.2.2).
          if (!(method === 'INVITE' && tx.proceeding)) this.opts.transport.send(req, peer).catch(() => undefined);
          interval = method === 'INVITE' ? interval * 2 : Math.min(tx.proceeding ? this.timers.t2 : interval * 2, this.timers.t2);
          tx.timers.push(setTimeout(again, interval));
        };
        tx.timers.push(setTimeout(again, interval));
      }
    });
  }

  /**
   * A request that may be challenged (REGISTER to an upper platform, §22.2): a 401 or 407 is answered
   * once with the credentials, in a new transaction with the next CSeq.
   */
  async requestWithAuth(
    build: (cseq: number) => SipRequest,
    firstCSeq: number,
    peer: SipPeer,
    creds: { user: string; password: string },
    opts: { timeoutMs?: number } = {},
  ): Promise<{ res: SipResponse; cseq: number }> {
    let cseq = firstCSeq;
    const req = build(cseq);
    let res = await this.request(req, peer, opts);
    if (res.status !== 401 && res.status !== 407) return { res, cseq };
    const challenge = res.get(res.status === 401 ? 'www-authenticate' : 'proxy-authenticate');
    if (!challenge) return { res, cseq };
    cseq++;
    const retry = build(cseq);
    retry.set(
      res.status === 401 ? 'authorization' : 'proxy-authorization',
      digestAuthorization(challenge, creds.user, creds.password, retry.method, retry.uri),
    );
    res = await this.request(retry, peer, opts);
    return { res, cseq };
  }

  /** ACKs a 2xx to an INVITE of ours (§13.2.2.4), and again whenever that 2xx is retransmitted. */
  ack(invite: SipRequest, ok: SipResponse, peer: SipPeer, requestUri: string): void {
    const ack = new SipRequest('ACK', requestUri);
    ack.add('via', this.via(peer));
    ack.add('from', invite.get('from')!);
    ack.add('to', ok.get('to')!);
    ack.add('call-id', invite.callId);
    ack.add('cseq', `${invite.cseq.seq} ACK`);
    ack.add('max-forwards', 70);
    ack.add('user-agent', this.opts.userAgent);
    const key = `${invite.callId}|${invite.cseq.seq}`;
    const known = this.acks.get(key);
    if (known) clearTimeout(known.expires);
    this.acks.set(key, { ack, peer, expires: setTimeout(() => this.acks.delete(key), 64 * this.timers.t1) });
    this.opts.transport.send(ack, peer).catch(() => undefined);
  }

  /** Our Via for a new transaction (§8.1.1.7), asking for rport (RFC 3581) so answers find us behind NAT. */
  private via(peer: SipPeer, branch = newBranch()): string {
    return formatVia({
      transport: peer.transport.toUpperCase(),
      host: this.opts.publicHost,
      port: this.opts.transport.port,
      params: { rport: null, branch },
    });
  }

  private endClient(key: string): void {
    const tx = this.client.get(key);
    if (!tx) return;
    for (const t of tx.timers) clearTimeout(t);
    this.client.delete(key);
  }

  private receive(msg: AnySipMessage, peer: SipPeer): void {
    if (this.closed) return;
    if (msg.type === 'response') this.onResponse(msg, peer);
    else this.onRequest(msg, peer);
  }

  private onResponse(res: SipResponse, peer: SipPeer): void {
    const via = parseVia(res.get('via') ?? '');
    const branch = via?.params.branch ?? '';
    const key = `${branch}|${res.cseq.method}`;
    const tx = this.client.get(key);
    if (!tx) {
      // A retransmitted 2xx to an INVITE we already ACKed: ACK it again (§13.2.2.4).
      const sent = this.acks.get(`${res.callId}|${res.cseq.seq}`);
      if (sent && res.cseq.method === 'INVITE' && res.status < 300) this.opts.transport.send(sent.ack, sent.peer).catch(() => undefined);
      else this.emit('stray', res, peer);
      return;
    }
    if (res.status < 200) {
      tx.proceeding = true;
      tx.provisional?.(res);
      return;
    }
    this.endClient(key);
    if (tx.method === 'INVITE' && res.status >= 300) this.ackFailure(tx.req, res, peer);
    tx.resolve(res);
  }

  /** §17.1.1.3: the ACK of a failed INVITE is part of its transaction (same branch, the response's To). */
  private ackFailure(invite: SipRequest, res: SipResponse, peer: SipPeer): void {
    const ack = new SipRequest('ACK', invite.uri);
    ack.add('via', invite.get('via')!);
    ack.add('from', invite.get('from')!);
    ack.add('to', res.get('to')!);
    ack.add('call-id', invite.callId);
    ack.add('cseq', `${invite.cseq.seq} ACK`);
    ack.add('max-forwards', 70);
    this.opts.transport.send(ack, peer).catch(() => undefined);
  }

  private serverKey(req: SipRequest): string {
    const via = parseVia(req.get('via') ?? '');
    const branch = via?.params.branch;
    const method = req.method === 'ACK' ? 'INVITE' : req.method;
    // RFC 2543 peers have no magic-cookie branch: fall back to the dialog's identifiers (§17.2.3).
    if (branch?.startsWith(MAGIC_COOKIE)) return `${branch}|${via!.host}:${via!.port ?? ''}|${method}`;
    return `${req.callId}|${req.get('from')}|${req.cseq.seq}|${req.get('via')}|${method}`;
  }

  private onRequest(req: SipRequest, peer: SipPeer): void {
    if (req.method === 'ACK') {
      const key2xx = `${req.callId}|${req.cseq.seq}`;
      const pending = this.unacked.get(key2xx);
      if (pending) {
        clearTimeout(pending);
        this.unacked.delete(key2xx);
      }
      // An ACK in an INVITE's own transaction (for a failure) ends it silently; an ACK for a 2xx is the dialog's.
      if (!this.server.has(this.serverKey(req)) || pending) this.emit('ack', req, peer);
      return;
    }
    const key = this.serverKey(req);
    const known = this.server.get(key);
    if (known) {
      // A retransmission: the last response again, if there is one (§17.2.1, §17.2.2).
      if (known.last) this.opts.transport.send(known.last, peer).catch(() => undefined);
      return;
    }
    if (req.method === 'CANCEL') {
      this.cancel(req, peer);
      return;
    }
    const tx: ServerTx = {
      method: req.method,
      peer,
      final: false,
      expires: setTimeout(() => this.server.delete(key), 64 * this.timers.t1),
    };
    this.server.set(key, tx);
    const reply = (status: number, opts: ReplyOptions = {}): SipResponse => {
      const res = responseTo(req, status, opts.reason ?? REASONS[status] ?? 'Unknown', this.toTag(req));
      for (const [k, v] of opts.headers ?? []) res.add(k, v);
      if (!res.get('user-agent')) res.add('user-agent', this.opts.userAgent);
      if (opts.body) {
        res.body = opts.body;
        res.set('content-type', opts.contentType ?? 'Application/MANSCDP+xml');
      }
      if (tx.final) return res; // answered already: a second final response is not sent (§17.2)
      tx.last = res;
      tx.final = status >= 200;
      this.opts.transport.send(res, peer).catch(() => undefined);
      if (req.method === 'INVITE' && status >= 200 && status < 300 && peer.transport === 'udp') this.retransmit2xx(req, res, peer);
      return res;
    };
    tx.reply = reply;
    if (req.method === 'INVITE') reply(100);
    this.emit('request', { req, peer, reply });
  }

  /** §13.3.1.4: a 2xx to an INVITE goes again at T1, 2·T1 … T2 until its ACK, for 64·T1 at most. */
  private retransmit2xx(req: SipRequest, res: SipResponse, peer: SipPeer): void {
    const key = `${req.callId}|${req.cseq.seq}`;
    const started = Date.now();
    let interval = this.timers.t1;
    const again = () => {
      if (!this.unacked.has(key)) return;
      if (Date.now() - started >= 64 * this.timers.t1) {
        this.unacked.delete(key);
        return;
      }
      this.opts.transport.send(res, peer).catch(() => undefined);
      interval = Math.min(interval * 2, this.timers.t2);
      this.unacked.set(key, setTimeout(again, interval));
    };
    this.unacked.set(key, setTimeout(again, interval));
  }

  private cancel(req: SipRequest, peer: SipPeer): void {
    const inviteKey = this.serverKey(Object.assign(new SipRequest('INVITE', req.uri), { headers: req.headers }));
    const invite = this.server.get(inviteKey);
    const res = responseTo(req, invite ? 200 : 481, invite ? 'OK' : REASONS[481]!, this.toTag(req));
    this.opts.transport.send(res, peer).catch(() => undefined);
    if (!invite || invite.final) return;
    // The INVITE ends with 487; whoever was answering it hears of the CANCEL (§9.2).
    invite.reply?.(487, { reason: 'Request Terminated' });
    this.emit('request', { req, peer, reply: () => res });
  }

  /** The To tag we answer a dialog with: one per Call-ID, stable across retransmissions. */
  private toTag(req: SipRequest): string {
    return createTag(this.localTag, req.callId);
  }
}

function createTag(seed: string, callId: string): string {
  let h = 0;
  for (const c of `${seed}${callId}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `${seed.slice(0, 4)}${h.toString(16)}`;
}
