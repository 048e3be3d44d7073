/**
 * Dahua's eventManager attach stream: the parts of a recorded stream written from Dahua's HTTP
 * API document and a real camera's published CrossLineDetection (fixtures/dahua-attach.txt, its
 * sources cited there), cut at the boundary whatever Content-Length says; data holding `;` and
 * `=`, data cut short, several events in one part; and the stream against a simulated Dahua
 * camera over real HTTP with Digest: Start … Stop is one event however long, a Pulse ends when
 * quiet, tamper and region intrusion, a plate read at the junction and a face detection come as
 * captures with the camera's snapshot, the stream is opened again after the camera drops it, a
 * wrong password is said, garbage is refused.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedDahuaCamera } from '../../sim/camera/dahua.js';
import { PHOTOS } from '../../test/helpers/photos.js';
import { waitFor } from '../../test/helpers/servers.js';
import { type AnalyticsCapture, type AnalyticsEvent, MultipartSplitter } from './analytics.js';
import { DahuaEventStream, dahuaCapture, parseDahuaEvents } from './dahua.js';

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function recorded(): Buffer {
  const text = readFileSync(new URL('./fixtures/dahua-attach.txt', import.meta.url), 'latin1');
  return Buffer.from(text.slice(text.indexOf('--- stream ---\n') + 15), 'latin1');
}

describe('Dahua attach parts', () => {
  it('reads the recorded stream part by part at the boundary, a Content-Length of 0 notwithstanding', () => {
    const parts = new MultipartSplitter('myboundary', false).push(Buffer.concat([recorded(), Buffer.from('--myboundary\r\n')]));
    const events = parts.flatMap((p) => parseDahuaEvents(p.body.toString('utf8')));
    expect(parts.map((p) => p.body.toString('utf8').split(';')[0])).toEqual([
      'Code=VideoMotion',
      'Heartbeat',
      'Code=VideoMotion',
      'Code=VideoBlind',
      'Code=CrossLineDetection',
      'Code=VideoBlind',
    ]);
    expect(events.map((e) => [e.code, e.action, e.channel])).toEqual([
      ['VideoMotion', 'Start', 1],
      ['VideoMotion', 'Stop', 1],
      ['VideoBlind', 'Start', 1],
      ['CrossLineDetection', 'Start', 16],
      ['VideoBlind', 'Stop', 1],
    ]);
    expect(events[3]!.data).toMatchObject({ Direction: 'LeftToRight', Name: 'Rule1', Object: { ObjectType: 'Human' }, UTC: 1564472601 });
  });

  it('keeps data whole when it holds ; and =, says when it is cut short, and reads two events in one part', () => {
    const [named] = parseDahuaEvents('Code=CrossRegionDetection;action=Start;index=2;data={"Name":"gate; a=b","Action":"Cross"}');
    expect(named).toEqual({ code: 'CrossRegionDetection', action: 'Start', channel: 3, data: { Name: 'gate; a=b', Action: 'Cross' } });
    const [cut] = parseDahuaEvents('Code=TrafficJunction;action=Pulse;index=0;data={"TrafficCar":{"PlateNu');
    expect(cut).toMatchObject({ code: 'TrafficJunction', dataUnreadable: true });
    expect(dahuaCapture(cut!, Date.now())).toMatch(/without readable data/);
    expect(parseDahuaEvents('Code=VideoMotion;action=Start;index=0\r\nCode=VideoLoss;action=Start;index=1').map((e) => e.code)).toEqual([
      'VideoMotion',
      'VideoLoss',
    ]);
    expect(parseDahuaEvents('Code=;action=Start')).toEqual([]);
    expect(parseDahuaEvents('Code=VideoMotion;action=Maybe;index=0')).toEqual([]);
    expect(parseDahuaEvents('Code=VideoMotion;action=Start;index=-4')).toEqual([]);
  });

  it('reads a junction plate from TrafficCar, else from the plate object; a read without a plate is refused', () => {
    const now = Date.now();
    const ev = (data: Record<string, unknown>) =>
      parseDahuaEvents(`Code=TrafficJunction;action=Pulse;index=0;data=${JSON.stringify(data)}`)[0]!;
    expect(dahuaCapture(ev({ TrafficCar: { PlateNumber: '浙A12345', PlateColor: 'Yellow' }, UTC: now / 1000 }), now)).toMatchObject({
      subject: 'plate',
      plate: '浙A12345',
      color: 'yellow',
      channel: 1,
    });
    expect(dahuaCapture(ev({ Object: { ObjectType: 'Plate', Text: '沪B·6789C' } }), now)).toMatchObject({ plate: '沪B6789C' });
    // A new-energy plate (gradient green, eight characters).
    expect(dahuaCapture(ev({ TrafficCar: { PlateNumber: '粤BD12345', PlateColor: 'GradientGreen' } }), now)).toMatchObject({
      plate: '粤BD12345',
      color: 'green',
    });
    expect(dahuaCapture(ev({ TrafficCar: { PlateNumber: 'Unknown' } }), now)).toBe('TrafficJunction names no plate');
    // A camera clock an hour off is not believed.
    expect(dahuaCapture(ev({ TrafficCar: { PlateNumber: '浙A12345' }, UTC: now / 1000 - 3600 }), now)).toMatchObject({ at: now });
  });
});

async function setup(opts: { wrongLength?: boolean; password?: string } = {}) {
  const cam = new SimulatedDahuaCamera({ password: 'dahua-pass-1', snapshot: PHOTOS[2]!, wrongLength: opts.wrongLength ?? false });
  await cam.start();
  stops.push(() => cam.stop());
  const stream = new DahuaEventStream({
    url: cam.url,
    user: 'admin',
    password: opts.password ?? 'dahua-pass-1',
    quietMs: 1000,
    silenceMs: 8000,
  });
  const events: AnalyticsEvent[] = [];
  const captures: AnalyticsCapture[] = [];
  const errors: string[] = [];
  const refused: string[] = [];
  stream.on('event', (e) => events.push(e));
  stream.on('capture', (c) => captures.push(c));
  stream.on('error', (e) => errors.push(e.message));
  stream.on('refused', (why) => refused.push(why));
  stream.start();
  stops.push(() => stream.stop());
  return { cam, stream, events, captures, errors, refused };
}

describe('Dahua eventManager attach', () => {
  for (const wrongLength of [false, true]) {
    it(`holds Start … Stop as one event however long it lasts (Content-Length ${wrongLength ? '0' : 'right'})`, async () => {
      const { cam, stream, events } = await setup({ wrongLength });
      await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
      cam.send('VideoMotion', 'Start', 0);
      cam.send('VideoBlind', 'Start', 1);
      await new Promise((r) => setTimeout(r, 1800)); // longer than the quiet period
      expect(events.map((e) => [e.kind, e.channel, e.state])).toEqual([
        ['motion', 1, true],
        ['tamper', 2, true],
      ]);
      cam.send('VideoMotion', 'Stop', 0);
      cam.send('VideoBlind', 'Stop', 1);
      await waitFor('both ended', () => events.filter((e) => !e.state).length === 2 || undefined);
      expect(events.map((e) => [e.kind, e.state])).toEqual([
        ['motion', true],
        ['tamper', true],
        ['motion', false],
        ['tamper', false],
      ]);
    }, 15_000);
  }

  it('ends a pulsed crossing when quiet, reads region intrusion, and opens the stream again after the camera drops it', async () => {
    const { cam, stream, events, errors } = await setup();
    await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
    cam.send('CrossLineDetection', 'Pulse', 0, { Direction: 'LeftToRight', Object: { ObjectType: 'Human' } });
    cam.send('CrossLineDetection', 'Pulse', 0, { Direction: 'LeftToRight', Object: { ObjectType: 'Human' } });
    await waitFor('the crossing ended', () => events.find((e) => e.kind === 'line_crossing' && !e.state), 5000);
    expect(events.filter((e) => e.kind === 'line_crossing').map((e) => e.state)).toEqual([true, false]);
    cam.dropStreams();
    await waitFor('reconnected', () => (cam.openStreams === 1 && stream.connected) || undefined, 10_000);
    expect(errors.join('\n')).toMatch(/Dahua .*ended the event stream/);
    cam.send('CrossRegionDetection', 'Start', 0, { Action: 'Cross', Direction: 'Enter', Name: 'north lawn' });
    await waitFor('intrusion', () => events.find((e) => e.kind === 'intrusion' && e.state));
  }, 20_000);

  it("sends a junction plate read and a face detection on as captures with the camera's snapshot", async () => {
    const { cam, stream, captures } = await setup();
    await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
    cam.plate('浙A12345', 'Yellow');
    cam.send('FaceDetection', 'Start', 0, { Faces: [{ BoundingBox: [100, 100, 300, 300] }] });
    cam.send('FaceDetection', 'Stop', 0);
    await waitFor('two captures', () => captures.length === 2 || undefined);
    const plate = captures.find((c) => c.subject === 'plate')!;
    expect(plate).toMatchObject({ plate: '浙A12345', color: 'yellow', channel: 1, eventType: 'TrafficJunction' });
    expect(plate.pictures).toEqual([{ name: 'snapshot.jpg', mime: 'image/jpeg', bytes: PHOTOS[2] }]);
    expect(captures.find((c) => c.subject === 'face')!.pictures).toHaveLength(1);
    expect(cam.snapshots).toBe(2);
  });

  it('says a refused password without the password, and refuses a part that is no event', async () => {
    const bad = await setup({ password: 'not-the-password' });
    await waitFor('refused', () => bad.errors[0]);
    expect(bad.errors[0]).toMatch(/Dahua .*refused the credentials/);
    expect(bad.errors.join()).not.toContain('not-the-password');
    const { cam, stream, refused, events } = await setup();
    await waitFor('connected', () => (stream.connected && cam.openStreams === 1) || undefined);
    cam.sendRaw('\u0000\u0001 garbage = ; ;');
    cam.sendRaw('Code=TrafficJunction;action=Pulse;index=0;data={"TrafficCar":');
    cam.send('VideoLoss', 'Start', 0);
    await waitFor('video loss', () => events.find((e) => e.kind === 'video_lost'));
    expect(refused).toEqual([expect.stringMatching(/^not a Dahua event/), 'TrafficJunction without readable data: no plate']);
  });
});
