/**
 * MANSCDP (GB/T 28181-2016 Annex A): the XML bodies of MESSAGE, NOTIFY and SUBSCRIBE
 * (`Application/MANSCDP+xml`): `<Query>`, `<Response>`, `<Notify>` or `<Control>` with a CmdType,
 * a sequence number SN and a DeviceID.
 *
 * Text arrives as GB2312 (the 2016 edition's examples), GB18030 (the 2022 edition, §6.10) or
 * UTF-8, and the declaration is often wrong: a body that is valid UTF-8 is read as UTF-8, anything
 * else as GB18030 (a superset of GB2312 and GBK), whatever it declares. iconv-lite does the
 * decoding (pure JavaScript, no native build). We write GB2312-declared bodies to 2016 peers
 * (encoded as GB18030, which is GB2312 for every GB2312 character) and GB18030 to 2022 ones.
 */
import { XMLParser } from 'fast-xml-parser';
import iconv from 'iconv-lite';

export type ManscdpRoot = 'Query' | 'Response' | 'Notify' | 'Control';
export const MANSCDP_CONTENT_TYPE = 'Application/MANSCDP+xml';

export type Charset = 'GB2312' | 'GB18030' | 'UTF-8';

export class ManscdpError extends Error {
  constructor(
    readonly reason: 'not_xml' | 'no_root' | 'no_cmdtype' | 'doctype' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'ManscdpError';
  }
}

/** A node as fast-xml-parser gives it: text, or children by name (repeated ones as arrays), attributes under `@`. */
export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

export interface ManscdpDocument {
  root: ManscdpRoot;
  cmdType: string;
  sn: number;
  deviceId: string;
  /** Every child of the root element, as text or nested objects. */
  body: XmlObject;
  /** How the bytes were read. */
  charset: Charset;
}

const MAX_BODY_BYTES = 256 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a body: UTF-8 when it is valid UTF-8, GB18030 otherwise. */
export function decodeText(bytes: Buffer): { text: string; charset: Charset } {
  try {
    return { text: utf8.decode(bytes), charset: 'UTF-8' };
  } catch {
    return { text: iconv.decode(bytes, 'gb18030'), charset: 'GB18030' };
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Ids are 20 digits and SNs are numbers: everything stays text, read where it is used.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Lists hold one or many items; always arrays.
  isArray: (name) => name === 'Item',
});

export function parseManscdp(bytes: Buffer): ManscdpDocument {
  if (bytes.length > MAX_BODY_BYTES) throw new ManscdpError('too_large', `body of ${bytes.length} bytes (at most ${MAX_BODY_BYTES})`);
  const { text, charset } = decodeText(bytes);
  // No document type, no entities: nothing in a MANSCDP body needs them, and they are how XML bombs work.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new ManscdpError('doctype', 'a DOCTYPE or ENTITY declaration in a MANSCDP body');
  let doc: XmlObject;
  try {
    doc = parser.parse(text, true) as XmlObject;
  } catch (err) {
    throw new ManscdpError('not_xml', `not XML: ${(err as Error).message.split('\n')[0]}`);
  }
  const root = (['Query', 'Response', 'Notify', 'Control'] as const).find((r) => r in doc);
  if (!root) throw new ManscdpError('no_root', 'no Query, Response, Notify or Control element');
  const body = doc[root];
  if (typeof body !== 'object' || Array.isArray(body)) throw new ManscdpError('no_cmdtype', `<${root}> holds no elements`);
  const cmdType = text0(body.CmdType);
  if (!cmdType) throw new ManscdpError('no_cmdtype', `<${root}> has no CmdType`);
  const sn = Number.parseInt(text0(body.SN) ?? '', 10);
  return { root, cmdType, sn: Number.isFinite(sn) ? sn : 0, deviceId: text0(body.DeviceID) ?? '', body, charset };
}

/** The text of an element (the first, if repeated); undefined when absent or not text. */
export function text0(v: XmlValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return text0(v[0]);
  if (typeof v === 'string') return v;
  const inner = v['#text'];
  return typeof inner === 'string' ? inner : undefined;
}

/** The children of an element as objects (Item lists, Info blocks). */
export function objects(v: XmlValue | undefined): XmlObject[] {
  if (v === undefined || typeof v === 'string') return [];
  if (Array.isArray(v)) return v.flatMap(objects);
  return [v];
}

/** What an element holds when written: text, children in order, or children with attributes. */
export type XmlChild = [name: string, value: string | number | XmlChild[], attrs?: Record<string, string | number>];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function write(children: XmlChild[], indent: string): string {
  return children
    .map(([name, value, attrs]) => {
      const a = attrs
        ? Object.entries(attrs)
            .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
            .join('')
        : '';
      if (Array.isArray(value)) return `${indent}<${name}${a}>\r\n${write(value, `${indent}  `)}${indent}</${name}>\r\n`;
      return `${indent}<${name}${a}>${escapeXml(String(value))}</${name}>\r\n`;
    })
    .join('');
}

/** A MANSCDP body: CmdType, SN and DeviceID first, as Annex A orders them, then the rest. */
export function writeManscdp(
  root: ManscdpRoot,
  cmdType: string,
  sn: number,
  deviceId: string,
  children: XmlChild[],
  charset: Charset = 'GB2312',
): Buffer {
  const xml =
    `<?xml version="1.0" encoding="${charset}"?>\r\n<${root}>\r\n` +
    write([['CmdType', cmdType], ['SN', sn], ['DeviceID', deviceId], ...children], '  ') +
    `</${root}>\r\n`;
  return charset === 'UTF-8' ? Buffer.from(xml, 'utf8') : iconv.encode(xml, 'gb18030');
}
