/**
 * WS-Discovery (the SOAP-over-UDP part ONVIF uses to find cameras): the Probe a client sends and
 * the ProbeMatches a device answers, on both sides, so the gateway and the simulated camera share
 * one reading of the format.
 */
import { createHash, randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

export const DISCOVERY_PORT = 3702;
export const DISCOVERY_MULTICAST = '239.255.255.250';

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false, trimValues: true });

export interface ProbeMatch {
  /** The device's stable endpoint reference (urn:uuid:…). */
  urn: string;
  /** Device service addresses (http://…/onvif/device_service). */
  xaddrs: string[];
  scopes: string[];
  types: string[];
  /** Read from the ONVIF scopes, when the device gives them. */
  name?: string;
  hardware?: string;
  location?: string;
  /** Who answered (address:port). */
  from: string;
}

export function probeMessage(messageId = `urn:uuid:${randomUUID()}`): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
    `xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
    `xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>` +
    `<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>` +
    `<a:MessageID>${messageId}</a:MessageID>` +
    `<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>` +
    `<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
    `<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

type Node = Record<string, unknown>;
const obj = (v: unknown): Node | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : Array.isArray(v) ? obj(v[0]) : undefined;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The MessageID of a Probe, or undefined when the datagram is not a Probe. */
export function readProbe(xml: string): { messageId: string } | undefined {
  try {
    const env = obj(obj(parser.parse(xml))?.Envelope);
    const body = obj(env?.Body);
    if (!body || !('Probe' in body)) return undefined;
    return { messageId: str(obj(env?.Header)?.MessageID) };
  } catch {
    return undefined;
  }
}

/** The matches in a ProbeMatches answer to `messageId` (others' answers are ignored). */
export function readProbeMatches(xml: string, messageId: string | undefined, from: string): ProbeMatch[] {
  let env: Node | undefined;
  try {
    env = obj(obj(parser.parse(xml))?.Envelope);
  } catch {
    return [];
  }
  if (messageId && str(obj(env?.Header)?.RelatesTo) !== messageId) return [];
  const list = obj(obj(env?.Body)?.ProbeMatches)?.ProbeMatch;
  const matches = Array.isArray(list) ? list : list ? [list] : [];
  const out: ProbeMatch[] = [];
  for (const m of matches.map(obj)) {
    const urn = str(obj(m?.EndpointReference)?.Address);
    const xaddrs = str(m?.XAddrs).split(/\s+/).filter(Boolean);
    if (!urn || !xaddrs.length) continue;
    const scopes = str(m?.Scopes).split(/\s+/).filter(Boolean);
    const scope = (name: string) => {
      const s = scopes.find((x) => x.startsWith(`onvif://www.onvif.org/${name}/`));
      return s ? decodeURIComponent(s.slice(`onvif://www.onvif.org/${name}/`.length)) : undefined;
    };
    out.push({
      urn,
      xaddrs,
      scopes,
      types: str(m?.Types).split(/\s+/).filter(Boolean),
      name: scope('name'),
      hardware: scope('hardware'),
      location: scope('location'),
      from,
    });
  }
  return out;
}

export function probeMatchesMessage(relatesTo: string, match: { urn: string; xaddrs: string[]; scopes: string[] }): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" ` +
    `xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
    `xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>` +
    `<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>` +
    `<a:MessageID>urn:uuid:${randomUUID()}</a:MessageID>` +
    `<a:RelatesTo>${relatesTo}</a:RelatesTo><a:To ` +
    `s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To></s:Header>` +
    `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${match.urn}</a:Address></a:EndpointReference>` +
    `<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>${match.scopes.join(' ')}</d:Scopes>` +
    `<d:XAddrs>${match.xaddrs.join(' ')}</d:XAddrs>` +
    `<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`
  );
}

/** A stable endpoint reference for a device serial (UUID v5-shaped, from SHA-1). */
export function endpointUrn(serial: string): string {
  const h = createHash('sha1').update(`gridedge-camera:${serial}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
