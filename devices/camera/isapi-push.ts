/**
 * A Hikvision camera pushing its events to the gateway as an HTTP host (ISAPI "HTTP listening",
 * `/ISAPI/Event/notification/httpHosts`), for sites where the gateway should not hold a stream
 * open per camera. The camera POSTs each event to the host's URL: an `EventNotificationAlert` as
 * `application/xml`, or — ANPR and face captures with their pictures — `multipart/form-data`
 * with the XML part first and one part per picture (named by its filename). The camera signs
 * in with HTTP Digest (`httpAuthenticationMethod` MD5digest) as the user the gateway wrote into
 * its httpHosts entry: the camera's id, with the push password.
 *
 * The gateway may write that entry itself (`isapiPush.gateway`): `PUT
 * /ISAPI/Event/notification/httpHosts` with one `HttpHostNotification` (id 1) naming the gateway's
 * address, port and the camera's own URL on it, XML parameters, MD5digest.
 */
import { createHash } from 'node:crypto';
import { DigestAuth } from '../../core/http-digest.js';
import { MAX_PART_BYTES, MultipartSplitter } from './analytics.js';

export const ISAPI_PUSH_REALM = 'gridedge-isapi';
export const HTTP_HOSTS_PATH = '/ISAPI/Event/notification/httpHosts';
export const MAX_PUSH_BYTES = 8 * 1024 * 1024;

/** Where a camera pushes on the gateway's API port. */
export function isapiPushPath(camera: string): string {
  return `/isapi/${encodeURIComponent(camera)}/events`;
}

/** Digest for one camera's pushes: its id as the user, its push password. */
export function pushDigest(camera: string, password: string): DigestAuth {
  const ha1 = createHash('md5').update(`${camera}:${ISAPI_PUSH_REALM}:${password}`).digest('hex');
  return new DigestAuth(ISAPI_PUSH_REALM, (user) => (user === camera ? ha1 : undefined));
}

/** A push's body as the parts of an alert stream: one XML part, or the form-data parts; a string says why it cannot be read. */
export function pushParts(
  contentType: string | undefined,
  body: Buffer,
): Array<{ headers: Record<string, string>; body: Buffer }> | string {
  const type = (contentType ?? '').toLowerCase();
  if (!body.length) return 'an empty push';
  if (/^(application|text)\/xml/.test(type)) return [{ headers: { 'content-type': 'application/xml' }, body }];
  if (/^application\/json/.test(type)) return [{ headers: { 'content-type': 'application/json' }, body }];
  if (!type.startsWith('multipart/')) return `a push of ${type || 'no content type'} (XML, JSON or multipart/form-data expected)`;
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
  if (!boundary) return 'a multipart push without its boundary';
  let parts: Array<{ headers: Record<string, string>; body: Buffer }>;
  try {
    const splitter = new MultipartSplitter(boundary, false);
    parts = splitter.push(body);
    // The closing delimiter ends the last part; a body without one still has its last part.
    const last = splitter.takePending();
    if (last) parts.push(last);
  } catch (err) {
    return `multipart: ${(err as Error).message}`;
  }
  // Form-data names its XML part, not always its type: a part that is not a picture is the alert.
  parts = parts.filter((p) => p.body.length > 0 && p.body.length <= MAX_PART_BYTES);
  if (!parts.length) return 'a multipart push with no part';
  if (parts.length > 16) return `a multipart push of ${parts.length} parts (16 at most)`;
  return parts;
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The HttpHostNotificationList the gateway writes on a camera: itself as host 1, XML, MD5digest. */
export function httpHostsXml(o: { gateway: string; camera: string; password: string }): string {
  const u = new URL(o.gateway);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<HttpHostNotificationList version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\n' +
    '<HttpHostNotification>\n' +
    '<id>1</id>\n' +
    `<url>${xmlText(isapiPushPath(o.camera))}</url>\n` +
    `<protocolType>${u.protocol === 'https:' ? 'HTTPS' : 'HTTP'}</protocolType>\n` +
    '<parameterFormatType>XML</parameterFormatType>\n' +
    '<addressingFormatType>ipaddress</addressingFormatType>\n' +
    `<ipAddress>${xmlText(u.hostname)}</ipAddress>\n` +
    `<portNo>${port}</portNo>\n` +
    `<userName>${xmlText(o.camera)}</userName>\n` +
    `<password>${xmlText(o.password)}</password>\n` +
    '<httpAuthenticationMethod>MD5digest</httpAuthenticationMethod>\n' +
    '</HttpHostNotification>\n' +
    '</HttpHostNotificationList>\n'
  );
}
