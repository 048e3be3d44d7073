import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/tmp.js';
import type { Normalized } from '../types.js';
import { CylinderRegistry } from './registry.js';
import { scanRules } from './rules.js';

async function registry() {
  const dir = await tempDir('lpg-rules');
  const file = path.join(dir, 'cylinders.csv');
  await writeFile(
    file,
    'tagId,ownerStation,manufactureDate,lastInspection,nextInspectionDue,scrapped,ratedFillKg\n' +
      'CYL0100,ST-A,2020-01-01,2025-05-31,2026-05-31,false,14.5\n',
  );
  return CylinderRegistry.load(file);
}

const scanAt = (iso: string): Normalized => ({
  type: 'reading',
  measurement: 'lpg_scan',
  fields: { tag_id: 'CYL0100', operation: 'delivery', weight_before_kg: 29, weight_after_kg: 29 },
  ts: Date.parse(iso),
});
const ctx = { device: { id: 'reader-1', kind: 'lpg-reader', grid: '110105001002001' }, options: { station: 'ST-A' }, state: {} };
const categories = (out: ReturnType<ReturnType<typeof scanRules>>) => out.flatMap((o) => (o.action === 'raise' ? [o.category] : []));

describe('LPG inspection dates', () => {
  it("compares the due date with the site's date: at 01:00 in Beijing on 1 June a cylinder due 31 May is overdue", async () => {
    const rules = scanRules(await registry(), 'Asia/Shanghai');
    // 2026-05-31T17:00Z is 2026-06-01 01:00 in UTC+8; the UTC date is still 31 May.
    expect(categories(rules(scanAt('2026-05-31T17:00:00Z'), ctx))).toEqual(['lpg.cylinder_overdue']);
    // 23:59 on 31 May in Beijing: due today, not overdue yet.
    expect(categories(rules(scanAt('2026-05-31T15:59:00Z'), ctx))).toEqual([]);
  });

  it('uses whatever zone the site is in', async () => {
    const rules = scanRules(await registry(), 'UTC');
    expect(categories(rules(scanAt('2026-05-31T17:00:00Z'), ctx))).toEqual([]);
    expect(categories(rules(scanAt('2026-06-01T00:00:00Z'), ctx))).toEqual(['lpg.cylinder_overdue']);
  });
});
