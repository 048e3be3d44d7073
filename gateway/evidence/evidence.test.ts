import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import { IncidentManager } from '../incidents/manager.js';
import { checkEvidenceLink, evidenceUrl, signEvidence } from './links.js';
import { EvidenceStore } from './store.js';

const retention = { face: 72, plate: 168, person: 72, vehicle: 168, scene: 720, snapshot: 720 };
const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(`image-${n}`)]);

describe('evidence store', () => {
  it('names evidence by the sha256 of its bytes and stores each content once', async () => {
    const store = new EvidenceStore({ dir: await tempDir('evidence'), retentionHours: retention });
    const a = await store.put(jpeg(1), 'face', 'image/jpeg');
    const again = await store.put(jpeg(1), 'face', 'image/jpeg');
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.sha256).toBe(a.sha256);
    expect(await store.get(a.sha256)).toEqual({ bytes: jpeg(1), mime: 'image/jpeg', class: 'face' });
    expect(await store.get('0'.repeat(64))).toBeUndefined();
    expect(await store.get('../../etc/passwd')).toBeUndefined();
  });

  it('stores the same picture given twice at the same moment (two tracks, one best shot) without failing', async () => {
    const store = new EvidenceStore({ dir: await tempDir('evidence'), retentionHours: retention });
    const refs = await Promise.all(Array.from({ length: 8 }, () => store.put(jpeg(7), 'scene', 'image/jpeg')));
    expect(new Set(refs.map((r) => r.sha256)).size).toBe(1);
    expect((await store.get(refs[0]!.sha256))?.bytes).toEqual(jpeg(7));
  });

  it('deletes each class when its retention runs out, faces first', async () => {
    let clock = Date.UTC(2026, 10, 22);
    const store = new EvidenceStore({ dir: await tempDir('evidence'), retentionHours: retention, now: () => clock });
    const face = await store.put(jpeg(1), 'face', 'image/jpeg');
    const plate = await store.put(jpeg(2), 'plate', 'image/jpeg');
    clock += 71 * 3600_000;
    expect(await store.sweep()).toEqual({});
    clock += 2 * 3600_000;
    expect(await store.sweep()).toEqual({ face: 1 });
    expect(await store.get(face.sha256)).toBeUndefined();
    expect(await store.get(plate.sha256)).toBeDefined();
    clock += 100 * 3600_000;
    expect(await store.sweep()).toEqual({ plate: 1 });
  });
});

describe('signed evidence links', () => {
  const secret = 'link-secret-0123456789';
  const sha = 'a'.repeat(64);
  it('accepts its own signature until it expires', () => {
    const now = Date.UTC(2026, 10, 22);
    const url = new URL(evidenceUrl('http://gw:8080/', secret, sha, 3600, now));
    expect(url.pathname).toBe(`/api/evidence/${sha}`);
    const exp = url.searchParams.get('exp')!;
    const sig = url.searchParams.get('sig')!;
    expect(checkEvidenceLink(secret, sha, exp, sig, now)).toEqual({ ok: true });
    expect(checkEvidenceLink(secret, sha, exp, sig, now + 3601_000)).toEqual({ ok: false, status: 410, reason: 'link expired' });
  });

  it('refuses a wrong, missing or moved signature and anything that is not a sha256', () => {
    const exp = String(Math.floor(Date.now() / 1000) + 60);
    expect(checkEvidenceLink(secret, sha, exp, signEvidence('another-secret-xyz', sha, Number(exp)))).toMatchObject({ status: 403 });
    expect(checkEvidenceLink(secret, sha, exp, undefined)).toMatchObject({ status: 403 });
    expect(checkEvidenceLink(secret, 'b'.repeat(64), exp, signEvidence(secret, sha, Number(exp)))).toMatchObject({ status: 403 });
    expect(checkEvidenceLink(secret, sha, String(Number(exp) + 1000), signEvidence(secret, sha, Number(exp)))).toMatchObject({
      status: 403,
    });
    expect(checkEvidenceLink(secret, '../x', exp, 'f'.repeat(64))).toMatchObject({ status: 400 });
  });
});

describe('incidents with evidence', () => {
  it('stores the evidence before the incident that references it is persisted', async () => {
    const dir = await tempDir('evidence');
    const store = new EvidenceStore({ dir, retentionHours: retention });
    let seq = 0;
    const checkedAtPersist: boolean[] = [];
    const manager = new IncidentManager({
      gatewayId: 'gw',
      nextSeq: () => ++seq,
      storeEvidence: async (input) => {
        const ref = await store.put(input.bytes, input.class, input.mime);
        return { kind: 'image', sha256: ref.sha256, class: ref.class, mime: ref.mime, bytes: ref.bytes };
      },
      persist: async (m) => {
        for (const e of m.evidence) checkedAtPersist.push(existsSync(path.join(dir, e.sha256.slice(0, 2), e.sha256)));
      },
    });
    const device = { id: 'cam-1', kind: 'smoke-alarm', grid: '110105001002001' };
    await manager.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'k',
        occurredAt: Date.now(),
        facts: {},
        evidence: [{ bytes: jpeg(7), class: 'scene', mime: 'image/jpeg', boxes: [{ x: 1, y: 2, w: 3, h: 4, label: 'smoke' }] }],
      },
      device,
    );
    await manager.handle(
      {
        action: 'raise',
        category: 'fire.smoke_alarm',
        correlationKey: 'k',
        occurredAt: Date.now(),
        facts: {},
        evidence: [{ bytes: jpeg(8), class: 'scene', mime: 'image/jpeg' }],
      },
      device,
    );
    expect(checkedAtPersist).toEqual([true, true, true]);
    const [incident] = manager.activeIncidents();
    expect(incident!.evidence.map((e) => e.bytes)).toEqual([jpeg(7).length, jpeg(8).length]); // the fold added the second image
  });
});
