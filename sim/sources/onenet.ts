/**
 * A simulated OneNET data push (China Mobile's IoT platform): the URL check it makes when the
 * push is configured, and data pushes in plain mode, signed with the push token as OneNET signs
 * them (Base64(MD5(token + nonce + msg))), sent again when the answer is not 200, as OneNET does.
 */
import { randomBytes } from 'node:crypto';
import { onenetSignature } from '../../devices/sources/onenet.js';

export interface OnenetPoint {
  imei: string;
  dev_id?: number;
  ds_id: string;
  value: unknown;
  at?: number;
}

export class SimulatedOnenet {
  /** Every answer the gateway gave, in order. */
  readonly answers: number[] = [];

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** OneNET's URL check: passes when the gateway answers the msg back. */
  async verifyUrl(token = this.token): Promise<{ status: number; body: string; ok: boolean }> {
    const msg = randomBytes(6).toString('hex');
    const nonce = randomBytes(4).toString('hex');
    const q = new URLSearchParams({ msg, nonce, signature: onenetSignature(token, nonce, msg) });
    const res = await fetch(`${this.url}?${q}`);
    const body = await res.text();
    return { status: res.status, body, ok: res.status === 200 && body === msg };
  }

  /** One push of data points (type 1), retried `retries` more times while not answered 200 (or always, with `repeat`). */
  async push(points: OnenetPoint[], opts: { token?: string; repeat?: number; spaced?: boolean } = {}): Promise<number> {
    const msg = points.map((p) => ({
      type: 1,
      dev_id: p.dev_id ?? 1000 + Number(p.imei.slice(-3)),
      imei: p.imei,
      ds_id: p.ds_id,
      at: p.at ?? Date.now(),
      value: p.value,
    }));
    return this.send(msg.length === 1 ? msg[0] : msg, opts);
  }

  /** A device going online or offline (type 2). */
  async status(imei: string, online: boolean, opts: { token?: string } = {}): Promise<number> {
    return this.send(
      { type: 2, dev_id: 1000 + Number(imei.slice(-3)), imei, status: online ? 1 : 0, login_type: 10, at: Date.now() },
      opts,
    );
  }

  private async send(msg: unknown, opts: { token?: string; repeat?: number; spaced?: boolean }): Promise<number> {
    const nonce = randomBytes(4).toString('hex');
    // OneNET writes its JSON with its own spacing: the signature covers the text as sent.
    const msgText = opts.spaced ? JSON.stringify(msg, null, 1) : JSON.stringify(msg);
    const body = `{"msg":${msgText},"msg_signature":"${onenetSignature(opts.token ?? this.token, nonce, msgText)}","nonce":"${nonce}"}`;
    let status = 0;
    for (let i = 0; i <= (opts.repeat ?? 0); i++) {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      status = res.status;
      this.answers.push(status);
    }
    return status;
  }
}
