/**
 * The ISAPI event stream against a simulated Hikvision camera over real HTTP with Digest: an
 * intrusion repeated every second is one event that ends after the quiet period; line crossing
 * and tamper each start and end; parts with and without Content-Length; the stream dropped by a
 * rebooting camera is opened again; a wrong password is said; a part that is not an alert is refused.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedIsapiCamera } from '../../sim/camera/isapi.js';
import { waitFor } from '../../test/helpers/servers.js';
import { type AnalyticsCapture, type AnalyticsEvent, MultipartSplitter } from './analytics.js';
import { IsapiEventStream, parseAlert, parseCapture } from './isapi.js';
import { pushParts } from './isapi-push.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function setup(opts: { contentLength?: boolean; password?: string } = {}) {
  const cam = new SimulatedIsapiCamera({ password: 'hik-pass-1', heartbeatMs: 300, contentLength: opts.contentLength ?? true });
  await cam.start();
  stops.push(() => cam.stop());
  const stream = new IsapiEventStream({
    url: cam.url,
    user: 'admin',
    password: opts.password ?? 'hik-pass-1',
    quietMs: 1500,
    silenceMs: 3000,
  });
  const events: AnalyticsEvent[] = [];
  const errors: string[] = [];
  stream.on('event', (e) => events.push(e));
  stream.on('error', (e) => errors.push(e.message));
  stream.start();
  stops.push(() => stream.stop());
  return { cam, stream, events, errors };
}

describe('Hikvision ISAPI alertStream', () => {
  for (const contentLength of [true, false]) {
    const cl = contentLength ? 'given' : 'absent';
    it(`folds an event the camera repeats every second into one, ended after a quiet period (Content-Length ${cl})`, async () => {
      const { cam, stream, events } = await setup({ contentLength });
      await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
      cam.raise('fielddetection', 1);
      await new Promise((r) => setTimeout(r, 2500)); // three repeats
      expect(events).toEqual([expect.objectContaining({ kind: 'intrusion', eventType: 'fielddetection', channel: 1, state: true })]);
      cam.clear('fielddetection', 1);
      await waitFor('the end', () => events.find((e) => !e.state), 5000);
      expect(events.map((e) => [e.kind, e.state])).toEqual([
        ['intrusion', true],
        ['intrusion', false],
      ]);
      // The heartbeat (videoloss inactive) never made a video-loss event.
      expect(events.some((e) => e.kind === 'video_lost')).toBe(false);
    }, 20_000);
  }

  it('reads line crossing and tamper on their channels, and opens the stream again after the camera drops it', async () => {
    const { cam, stream, events, errors } = await setup();
    await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
    cam.dropStreams();
    await waitFor('the stream again', () => (cam.openStreams === 1 && errors.length ? true : undefined), 10_000);
    expect(errors[0]).toMatch(/ended the event stream|terminated|other side closed/);
    cam.raise('linedetection', 2);
    cam.raise('shelteralarm', 1);
    await waitFor('both', () => (events.length >= 2 ? true : undefined), 5000);
    expect(events.map((e) => [e.kind, e.channel]).sort()).toEqual([
      ['line_crossing', 2],
      ['tamper', 1],
    ]);
  }, 20_000);

  it('says so when the camera refuses the password, without the password', async () => {
    const { cam, errors } = await setup({ password: 'not-it-at-all' });
    const why = await waitFor('the refusal', () => errors[0], 5000);
    expect(why).toMatch(/refused the credentials/);
    expect(why).not.toContain('not-it-at-all');
    expect(cam.refused).toBeGreaterThanOrEqual(1);
  });

  it('refuses what is not an alert, and takes the camera time with its offset', () => {
    expect(parseAlert(Buffer.from('<html>busy</html>'), Date.now())).toBeUndefined();
    const now = Date.parse('2026-12-01T13:03:41Z');
    const a = parseAlert(
      Buffer.from(
        '<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><channelID>3</channelID>' +
          '<dateTime>2026-12-01T21:03:41+08:00</dateTime><eventType>regionEntrance</eventType>' +
          '<eventState>active</eventState></EventNotificationAlert>',
      ),
      now + 5000,
    );
    expect(a).toMatchObject({ channel: 3, eventType: 'regionEntrance', state: true, at: now });
    expect(() => new MultipartSplitter('b').push(Buffer.from(`--b\r\nContent-Length: 99999999\r\n\r\n`))).toThrow(/over/);
  });
});

describe('ISAPI captures (ANPR, face)', () => {
  // The ANPR alert's layout: eventType ANPR with its ANPR block (licensePlate, direction
  // forward/reverse, confidenceLevel 0-100, plateColor) and pictureInfoList, as ANPR cameras send it.
  const anprXml = (plate: string, extra = '') =>
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
        '<ipAddress>10.0.0.64</ipAddress><channelID>1</channelID><dateTime>2026-12-02T10:21:07+08:00</dateTime>' +
        `<eventType>ANPR</eventType><eventState>active</eventState><ANPR><country>CN</country><licensePlate>${plate}</licensePlate>` +
        `<direction>reverse</direction><confidenceLevel>93</confidenceLevel><plateColor>yellow</plateColor>${extra}</ANPR>` +
        '<picNum>1</picNum></EventNotificationAlert>',
    );

  it('reads the plate (normalised), its colour, direction and confidence; an unread plate is none', () => {
    const at = Date.parse('2026-12-02T02:21:07Z');
    expect(parseCapture(anprXml('京B·D1234'), at)).toEqual({
      eventType: 'ANPR',
      channel: 1,
      at,
      subject: 'plate',
      plate: '京BD1234',
      color: 'yellow',
      direction: 'out',
      confidence: 0.93,
    });
    expect(parseCapture(anprXml('unknown'), at)?.plate).toBeUndefined();
    expect(parseCapture(anprXml('<script>'), at)?.plate).toBeUndefined();
    const face = Buffer.from('<EventNotificationAlert><eventType>faceSnap</eventType><channelID>2</channelID></EventNotificationAlert>');
    expect(parseCapture(face, at)).toMatchObject({ subject: 'face', channel: 2 });
    expect(parseCapture(Buffer.from('<EventNotificationAlert><eventType>VMD</eventType></EventNotificationAlert>'), at)).toBeUndefined();
  });

  it('takes the pictures that follow an ANPR alert on the stream, named by their filenames', async () => {
    const cam = new SimulatedIsapiCamera({ password: 'pw-isapi-1' });
    await cam.start();
    const stream = new IsapiEventStream({ url: cam.url, user: 'admin', password: 'pw-isapi-1' });
    const got: AnalyticsCapture[] = [];
    stream.on('capture', (c) => got.push(c));
    stream.start();
    try {
      await waitFor('stream open', () => (cam.openStreams > 0 ? true : undefined));
      const plateJpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(3000, 1), Buffer.from([0xff, 0xd9])]);
      const sceneJpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(9000, 2), Buffer.from([0xff, 0xd9])]);
      cam.anpr({ plate: '沪A12345', plateJpeg, sceneJpeg });
      const c = await waitFor('capture', () => got[0], 5000);
      expect(c).toMatchObject({ subject: 'plate', plate: '沪A12345', color: 'blue', direction: 'in' });
      expect(c.pictures.map((p) => [p.name, p.mime, p.bytes.length])).toEqual([
        ['licensePlatePicture.jpg', 'image/jpeg', plateJpeg.length],
        ['detectionPicture.jpg', 'image/jpeg', sceneJpeg.length],
      ]);
      expect(c.pictures[1]!.bytes.equals(sceneJpeg)).toBe(true);
    } finally {
      stream.stop();
      await cam.stop();
    }
  });
});

describe('a hostile alert stream', () => {
  it('refuses and counts a part over 4 MiB, opens the stream again, and reads the next alert', async () => {
    const { cam, stream, events, errors } = await setup();
    const refused: string[] = [];
    stream.on('refused', (why) => refused.push(why));
    await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
    cam.writeRaw(Buffer.from('--boundary\r\nContent-Type: application/xml\r\nContent-Length: 99999999\r\n\r\n<EventNotificationAlert>'));
    await waitFor('refused', () => refused[0]);
    expect(refused[0]).toMatch(/^multipart: a part of 99999999 bytes/);
    await waitFor('reconnected', () => (errors.length > 0 && stream.connected && cam.openStreams === 1) || undefined, 10_000);
    cam.raise('shelteralarm', 1);
    await waitFor('tamper after it', () => events.find((e) => e.kind === 'tamper' && e.state), 5000);
  }, 20_000);
});

describe('ISAPI alerts as published (fixtures/isapi-alerts.txt)', () => {
  const text = readFileSync(new URL('./fixtures/isapi-alerts.txt', import.meta.url), 'utf8');
  const docs = new Map(
    text
      .split(/^=== /m)
      .slice(1)
      .map((s) => [s.slice(0, s.indexOf(' ')), Buffer.from(s.slice(s.indexOf('\n') + 1).trim())] as const),
  );

  it('reads the guide’s motion and line-crossing alerts, and the ANPR alerts of two firmwares', () => {
    const stream = new IsapiEventStream({ url: 'http://127.0.0.1:9', listen: false });
    const events: AnalyticsEvent[] = [];
    const captures: AnalyticsCapture[] = [];
    stream.on('event', (e) => events.push(e));
    stream.on('capture', (c) => captures.push(c));
    const before = Date.now();
    for (const name of ['vmd', 'linedetection', 'anpr-capture-camera', 'anpr-deepinview'])
      stream.receive([{ headers: { 'content-type': 'application/xml' }, body: docs.get(name)! }]);
    stream.stop();
    expect(events.map((e) => [e.kind, e.eventType, e.channel, e.state])).toEqual([
      ['motion', 'VMD', 1, true],
      ['line_crossing', 'linedetection', 2, true],
    ]);
    // The same motion alert as newer firmware sends it in JSON reads the same.
    expect(parseAlert(docs.get('vmd-json')!, before)).toEqual(parseAlert(docs.get('vmd')!, before));
    expect(pushParts('application/json', docs.get('vmd-json')!)).toHaveLength(1);
    // The guide's 2009 and 2017 clocks are not believed: the alerts are dated when they came.
    for (const e of events) expect(e.at).toBeGreaterThanOrEqual(before);
    expect(captures.map((c) => [c.subject, c.plate, c.direction, c.confidence, c.color])).toEqual([
      ['plate', '京A12345', 'in', 0.98, undefined],
      ['plate', 'WX1234A', 'out', 0.92, undefined],
    ]);
  });

  it('reads a published ANPR alert pushed as multipart/form-data, its pictures named by their filenames', () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0xff, 0xd9]);
    const body = Buffer.concat([
      Buffer.from('--B\r\nContent-Disposition: form-data; name="anpr.xml"; filename="anpr.xml"\r\nContent-Type: text/xml\r\n\r\n'),
      docs.get('anpr-capture-camera')!,
      Buffer.from('\r\n--B\r\nContent-Disposition: form-data; name="licensePlatePicture.jpg"; filename="licensePlatePicture.jpg"\r\n'),
      Buffer.from('Content-Type: image/jpeg\r\n\r\n'),
      jpeg,
      Buffer.from('\r\n--B--\r\n'),
    ]);
    const parts = pushParts('multipart/form-data; boundary=B', body);
    if (typeof parts === 'string') throw new Error(parts);
    const stream = new IsapiEventStream({ url: 'http://127.0.0.1:9', listen: false });
    const captures: AnalyticsCapture[] = [];
    stream.on('capture', (c) => captures.push(c));
    stream.receive(parts);
    stream.stop();
    expect(captures).toHaveLength(1);
    expect(captures[0]!.pictures).toEqual([{ name: 'licensePlatePicture.jpg', mime: 'image/jpeg', bytes: jpeg }]);
    // What cannot be read is said, not guessed.
    expect(pushParts('multipart/form-data', body)).toBe('a multipart push without its boundary');
    expect(pushParts('text/plain', body)).toMatch(/XML, JSON or multipart/);
    expect(pushParts('application/xml', Buffer.alloc(0))).toBe('an empty push');
    const many = Buffer.concat([
      ...Array.from({ length: 20 }, () => Buffer.from('--B\r\nContent-Type: text/xml\r\n\r\n<x/>\r\n')),
      Buffer.from('--B--\r\n'),
    ]);
    expect(pushParts('multipart/form-data; boundary=B', many)).toMatch(/20 parts/);
  });
});
