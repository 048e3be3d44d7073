import { describe, expect, it } from 'vitest';
import { SipStreamFramer } from './transport.js';
import {
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  responseTo,
  SipParseError,
  type SipRefusal,
  type SipRequest,
  splitList,
} from './message.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

/** A REGISTER as a Hikvision camera sends it (GB/T 28181-2016 §9.1.2.1), compact forms and all. */
const REGISTER = crlf([
  'REGISTER sip:34020000002000000001@3402000000 SIP/2.0',
  'Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1371463273',
  'From: <sip:34020000001320000001@3402000000>;tag=2043466181',
  't: <sip:34020000001320000001@3402000000>',
  'i: 1011047669',
  'CSeq: 1 REGISTER',
  'm: <sip:34020000001320000001@192.168.1.64:5060>',
  'Max-Forwards: 70',
  'User-Agent: IP Camera',
  'Expires: 3600',
  'l: 0',
  '',
  '',
]);

function refusal(buf: Buffer, stream = false): SipRefusal | undefined {
  try {
    parseMessage(buf, { stream });
    return undefined;
  } catch (err) {
    return (err as SipParseError).reason;
  }
}

describe('SIP messages', () => {
  it('reads a REGISTER with compact header forms, and writes it back with their long names', () => {
    const m = parseMessage(REGISTER, { stream: false });
    expect(m.type).toBe('request');
    const req = m as SipRequest;
    expect(req.method).toBe('REGISTER');
    expect(req.uri).toBe('sip:34020000002000000001@3402000000');
    expect(req.callId).toBe('1011047669');
    expect(req.cseq).toEqual({ seq: 1, method: 'REGISTER' });
    expect(req.get('TO')).toBe('<sip:34020000001320000001@3402000000>');
    expect(parseNameAddr(req.get('contact')!)?.uri).toBe('sip:34020000001320000001@192.168.1.64:5060');
    const text = req.toBuffer().toString();
    expect(text).toContain('\r\nCall-ID: 1011047669\r\n');
    expect(text).toContain('\r\nTo: <sip:34020000001320000001@3402000000>\r\n');
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
    // And what it writes reads back the same.
    const again = parseMessage(req.toBuffer(), { stream: true }) as SipRequest;
    expect(again.headers).toEqual(req.headers.filter(([k]) => k !== 'content-length').concat([['content-length', '0']]));
  });

  it('unfolds continuation lines and splits list headers outside quotes and brackets (§7.3.1)', () => {
    const m = parseMessage(
      crlf([
        'OPTIONS sip:gw@10.0.0.1 SIP/2.0',
        'Via: SIP/2.0/UDP a.example:5060;branch=z9hG4bKa,',
        '  SIP/2.0/TCP b.example;branch=z9hG4bKb',
        'Via: SIP/2.0/UDP c.example;branch=z9hG4bKc',
        'From: "Gate, east" <sip:cam@x>;tag=1',
        'To: <sip:gw@10.0.0.1>',
        'Call-ID: c1',
        'CSeq: 7 OPTIONS',
        'Contact: "A, B" <sip:a@x>, <sip:b@y;lr>',
        '',
        '',
      ]),
      { stream: false },
    );
    expect(m.getAll('via')).toHaveLength(3);
    expect(parseVia(m.getAll('via')[1]!)).toEqual({ transport: 'TCP', host: 'b.example', params: { branch: 'z9hG4bKb' } });
    expect(m.getAll('contact')).toEqual(['"A, B" <sip:a@x>', '<sip:b@y;lr>']);
    expect(parseNameAddr(m.get('from')!)).toEqual({ display: 'Gate, east', uri: 'sip:cam@x', params: { tag: '1' } });
    expect(splitList('a, "b,c", <d,e>')).toEqual(['a', '"b,c"', '<d,e>']);
  });

  it('takes the body by Content-Length, or to the end of a datagram without one (§18.3)', () => {
    const head = [
      'MESSAGE sip:gw@x SIP/2.0',
      'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
      'From: <sip:a@x>;tag=1',
      'To: <sip:gw@x>',
      'Call-ID: m1',
      'CSeq: 2 MESSAGE',
    ];
    const withLength = parseMessage(crlf([...head, 'Content-Length: 5', '', 'hello, and more']), { stream: false });
    expect(withLength.body.toString()).toBe('hello');
    const without = parseMessage(crlf([...head, '', '<Notify/>']), { stream: false });
    expect(without.body.toString()).toBe('<Notify/>');
    expect(refusal(crlf([...head, '', '<Notify/>']), true)).toBe('content_length');
    expect(refusal(crlf([...head, 'Content-Length: 50', '', 'short']))).toBe('content_length');
    expect(refusal(crlf([...head, 'Content-Length: -1', '', '']))).toBe('content_length');
  });

  it('refuses what is not SIP, each for a named reason', () => {
    const ok = ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>', 'Call-ID: r1'];
    expect(refusal(Buffer.from(''))).toBe('empty');
    expect(refusal(Buffer.from('\r\n\r\n'))).toBe('empty');
    expect(refusal(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('start_line');
    expect(refusal(crlf(['REGISTER sip:x SIP/3.0', ...ok, 'CSeq: 1 REGISTER', '', '']))).toBe('version');
    expect(refusal(crlf(['REGISTER http://x SIP/2.0', ...ok, 'CSeq: 1 REGISTER', '', '']))).toBe('start_line');
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok, 'CSeq: 1 INVITE', '', '']))).toBe('cseq');
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok, 'CSeq: one REGISTER', '', '']))).toBe('cseq');
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok.slice(1), 'CSeq: 1 REGISTER', '', '']))).toBe('missing_header');
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok, 'CSeq: 1 REGISTER', 'no colon here', '', '']))).toBe('header');
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok, 'CSeq: 1 REGISTER']))).toBe('header');
    const many = Array.from({ length: 200 }, (_, i) => `X-${i}: y`);
    expect(refusal(crlf(['REGISTER sip:x SIP/2.0', ...ok, 'CSeq: 1 REGISTER', ...many, '', '']))).toBe('too_many_headers');
    expect(refusal(Buffer.alloc(70_000, 'a'))).toBe('too_large');
    expect(refusal(crlf(['SIP/2.0 999 Odd', ...ok, 'CSeq: 1 REGISTER', '', '']))).toBe('start_line');
  });

  it('answers with the request’s Via, From, Call-ID and CSeq, and our tag on To (§8.2.6.2)', () => {
    const req = parseMessage(REGISTER, { stream: false }) as SipRequest;
    const res = responseTo(req, 200, 'OK', 'ourtag');
    expect(res.get('via')).toBe(req.get('via'));
    expect(res.get('from')).toBe(req.get('from'));
    expect(parseNameAddr(res.get('to')!)?.params.tag).toBe('ourtag');
    expect(res.cseq).toEqual({ seq: 1, method: 'REGISTER' });
    expect(parseNameAddr(responseTo(req, 100, 'Trying', 'x').get('to')!)?.params.tag).toBeUndefined();
  });

  it('reads SIP URIs with users, ports, IPv6 hosts and parameters (§19.1)', () => {
    expect(parseUri('sip:34020000001320000001@192.168.1.64:5060;transport=tcp')).toEqual({
      scheme: 'sip',
      user: '34020000001320000001',
      host: '192.168.1.64',
      port: 5060,
      params: { transport: 'tcp' },
    });
    expect(parseUri('sip:3402000000')).toEqual({ scheme: 'sip', host: '3402000000', params: {} });
    expect(parseUri('sip:u@[::1]:5070')).toMatchObject({ host: '[::1]', port: 5070 });
    expect(parseUri('sip:u@h:99999')).toBeUndefined();
    expect(parseUri('http://x')).toBeUndefined();
  });

  it('cuts a TCP stream at Content-Length, across chunks, and answers a double-CRLF ping', () => {
    const framer = new SipStreamFramer();
    const msg = Buffer.concat([REGISTER]);
    const two = Buffer.concat([Buffer.from('\r\n\r\n'), msg, msg]);
    const first = framer.push(two.subarray(0, 30));
    expect(first).toEqual({ messages: [], ping: true });
    const rest = framer.push(two.subarray(30));
    expect(rest.messages.map((m) => m.length)).toEqual([msg.length, msg.length]);
    expect(() => new SipStreamFramer().push(Buffer.from('MESSAGE sip:x SIP/2.0\r\nCSeq: 1 MESSAGE\r\n\r\n'))).toThrow(SipParseError);
    expect(() => new SipStreamFramer().push(Buffer.alloc(20_000, 'a'))).toThrow(/no end of headers/);
    const huge = new SipStreamFramer();
    expect(() => huge.push(Buffer.from('MESSAGE sip:x SIP/2.0\r\nContent-Length: 999999\r\n\r\n'))).toThrow(/at most/);
  });
});
