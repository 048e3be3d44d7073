/** Evidence through a running gateway: referenced upstream by signed link, served only by it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../gateway/config/load.js';
import { Gateway } from '../../gateway/gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import { createLogger } from '../../core/log.js';
import { assertIncident } from '../helpers/incident-schema.js';
import { startMosquitto, type Mosquitto } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

let mosquitto: Mosquitto;
let gateway: Gateway;
let feed: UpstreamSubscriber;
const device = { id: 'gate-cam', kind: 'smoke-alarm', grid: '110105001002001' };
const face = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4000, 7)]);
const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100_000, 9)]);

beforeAll(async () => {
  mosquitto = await startMosquitto();
  const dataDir = await tempDir('evidence-e2e');
  gateway = new Gateway(
    resolveConfig(
      {
        gateway: { id: 'gw-ev', grid: '110105001002000', dataDir },
        broker: { host: '127.0.0.1', port: 0 },
        api: { host: '127.0.0.1', port: 0 },
        upstream: { url: mosquitto.url },
        // Masking (on by default) is tested in evidence-push.test.ts on real photos; these bytes are not images.
        evidence: { inline: true, inlineMaxBytes: 8192, privacy: { allow: ['face', 'plate'] } },
      },
      'test',
      dataDir,
      {},
    ),
    createLogger('silent'),
  );
  await gateway.start();
  feed = await UpstreamSubscriber.connect(mosquitto.url, 'gridedge/v1/+/gw-ev/incident');
});

afterAll(async () => {
  await feed?.close();
  await gateway?.stop();
  await mosquitto?.stop();
});

describe('evidence', () => {
  it('reaches the platform as sha256 + signed link (inline only when small and configured), and the link serves the bytes', async () => {
    await gateway.incidents.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'ev-1',
        occurredAt: Date.now(),
        facts: {},
        evidence: [
          { bytes: face, class: 'face', mime: 'image/jpeg' },
          { bytes: big, class: 'scene', mime: 'image/jpeg' },
        ],
      },
      device,
    );
    const m = assertIncident(
      await feed.waitFor<IncidentMessage>('incident with evidence', '/incident', (x) => x.correlationKey === 'ev-1'),
    );
    const [small, large] = m.evidence;
    expect(small).toMatchObject({ kind: 'image', class: 'face', mime: 'image/jpeg', bytes: face.length, inline: face.toString('base64') });
    expect(large!.inline).toBeUndefined(); // over inlineMaxBytes: the link only
    expect(JSON.stringify(m).length).toBeLessThan(big.length);

    const res = await fetch(large!.url!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(big);

    const tampered = large!.url!.replace(/sig=([0-9a-f])/, (_, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(403);
    const bare = large!.url!.split('?')[0]!;
    expect((await fetch(bare)).status).toBe(403);
    const expired = new URL(large!.url!);
    expired.searchParams.set('exp', '1');
    expect((await fetch(expired)).status).toBe(403); // exp is signed too
    const base = new URL(large!.url!).origin;
    expect((await fetch(`${base}/api/evidence/..%2F..%2Fstate%2Flink-secret`)).status).toBe(400);
  });

  it('deletes expired evidence on its sweep and counts it; the link then answers 404', async () => {
    await gateway.incidents.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'ev-2',
        occurredAt: Date.now(),
        facts: {},
        evidence: [{ bytes: Buffer.from('a face that must not stay'), class: 'face', mime: 'image/jpeg' }],
      },
      device,
    );
    const m = await feed.waitFor<IncidentMessage>('incident', '/incident', (x) => x.correlationKey === 'ev-2');
    const realNow = Date.now;
    Date.now = () => realNow() + 73 * 3600_000;
    try {
      await gateway.sweepEvidence();
    } finally {
      Date.now = realNow;
    }
    expect(gateway.counters.get('evidence_expired_total', { class: 'face' })).toBeGreaterThanOrEqual(1);
    expect((await fetch(m.evidence[0]!.url!)).status).toBe(404);
  });
});
