/**
 * A data subject's request (PIPL art. 47, deletion): every capture of a plate, or one capture
 * by id, removed from the gateway — its images (sent and original), its place in the push and
 * capture queues, its line in the capture index — and a report of what went. Series points
 * that name the plate live in the time-series store and are deleted there (the report says so).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { EvidenceStore } from '../evidence/store.js';
import type { CaptureIndexEntry } from './captures.js';

export interface PurgeRequest {
  plate?: string;
  captureId?: string;
}

export interface PurgeReport {
  /** What was asked, the plate normalised. */
  plate?: string;
  captureId?: string;
  captures: string[];
  images: number;
  /** Queued deliveries taken out before they left (evidence objects, capture messages). */
  unsent: number;
  note: string;
}

/** 京A·12345, 京a 12345 and 京A-12345 are one plate. */
export function normalisePlate(plate: string): string {
  return plate.replace(/[\s·•.\-_]/g, '').toUpperCase();
}

export interface PurgeTargets {
  indexFile: string;
  store: EvidenceStore;
  /** Takes objects out of the evidence push queue; resolves to how many. */
  unqueueEvidence?: (sha256s: ReadonlySet<string>) => Promise<number>;
  /** Takes capture messages out of their queue (and the recent list); resolves to how many left the queue. */
  unqueueCaptures?: (ids: ReadonlySet<string>) => Promise<number>;
}

export async function purgeCaptures(req: PurgeRequest, t: PurgeTargets): Promise<PurgeReport> {
  if (!req.plate === !req.captureId) throw new Error('name exactly one of a plate or a capture id');
  const plate = req.plate ? normalisePlate(req.plate) : undefined;
  let text = '';
  try {
    text = await readFile(t.indexFile, 'utf8');
  } catch {
    /* no capture yet */
  }
  const keep: string[] = [];
  const gone: CaptureIndexEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: CaptureIndexEntry;
    try {
      e = JSON.parse(line) as CaptureIndexEntry;
    } catch {
      keep.push(line); // not ours to judge: kept as it was
      continue;
    }
    const hit = plate ? e.plate !== undefined && normalisePlate(e.plate) === plate : e.id === req.captureId;
    if (hit) gone.push(e);
    else keep.push(line);
  }
  const shas = new Set(gone.flatMap((e) => e.sha256s));
  const ids = new Set(gone.map((e) => e.id));
  const unsent = ((await t.unqueueEvidence?.(shas)) ?? 0) + ((await t.unqueueCaptures?.(ids)) ?? 0);
  let images = 0;
  for (const sha of shas) if (await t.store.delete(sha)) images++;
  if (gone.length) await writeFile(t.indexFile, keep.map((l) => `${l}\n`).join(''));
  return {
    ...(plate ? { plate } : {}),
    ...(req.captureId ? { captureId: req.captureId } : {}),
    captures: [...ids],
    images,
    unsent,
    note:
      'removed from the gateway; captures already delivered are the centre’s to delete, and series points naming the plate ' +
      '(measurements capture and vehicle_pass) are deleted in the time-series store',
  };
}
