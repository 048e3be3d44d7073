/**
 * The cylinder registry: every LPG cylinder's tag, owner station, dates and rated fill, loaded
 * from a CSV or YAML file and updated through the API (each change written back to the file
 * atomically, in its own format).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { compile, configAjv, describeErrors } from '../../core/schema.js';
import { writeFileDurably } from '../../core/durable.js';
import { gridedgeError } from '../../core/errors.js';

const DATE = { pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a date, YYYY-MM-DD' };

export const CylinderFields = {
  ownerStation: Type.String({ minLength: 1, maxLength: 64, description: 'the station that owns it and may fill it' }),
  manufactureDate: Type.String(DATE),
  lastInspection: Type.String(DATE),
  nextInspectionDue: Type.String(DATE),
  scrapped: Type.Boolean({ default: false, description: 'true once scrapped: it must never be filled again' }),
  ratedFillKg: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'the most gas it may hold, kg (e.g. 14.5 for a YSP35.5)' }),
  tareKg: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 200, description: "the empty cylinder's weight, kg" })),
};
export const CylinderBodySchema = Type.Object(CylinderFields, { additionalProperties: false });
export const CylinderSchema = Type.Object(
  { tagId: Type.String({ pattern: '^[A-Za-z0-9_-]{4,64}$', description: 'e-tag id, 4-64 of A-Z a-z 0-9 _ -' }), ...CylinderFields },
  { additionalProperties: false },
);
export type Cylinder = Static<typeof CylinderSchema>;

const validate = compile(configAjv, CylinderSchema);

/** CSV cells are text: turn the typed columns back into numbers and booleans before validating. */
function fromCsvRow(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === '') continue;
    if (k === 'scrapped') out[k] = /^(true|yes|1)$/i.test(v) ? true : /^(false|no|0)$/i.test(v) ? false : v;
    else if (k === 'ratedFillKg' || k === 'tareKg') out[k] = Number.isFinite(Number(v)) ? Number(v) : v;
    else out[k] = v;
  }
  return out;
}

export class CylinderRegistry {
  private readonly byTag = new Map<string, Cylinder>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string | undefined) {}

  /** A registry with no file: nothing is registered, and changes through the API are refused. */
  static empty(): CylinderRegistry {
    return new CylinderRegistry(undefined);
  }

  get writable(): boolean {
    return this.file !== undefined;
  }

  /** Loads the file (CSV with a header row, or a YAML list); every bad row is reported with its line. */
  static load(file: string): CylinderRegistry {
    const registry = new CylinderRegistry(file);
    if (!existsSync(file)) throw gridedgeError('GE_ERR_REGISTRY_INVALID', `cylinder registry ${file} does not exist`, []);
    const text = readFileSync(file, 'utf8');
    const rows: unknown[] = registry.isCsv
      ? (parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, comment: '#' }) as Array<Record<string, string>>).map(
          fromCsvRow,
        )
      : ((parseYaml(text) as unknown[] | null) ?? []);
    if (!Array.isArray(rows)) throw gridedgeError('GE_ERR_REGISTRY_INVALID', `cylinder registry ${file}: expected a list of cylinders`, []);
    const problems: string[] = [];
    rows.forEach((row, i) => {
      const where = registry.isCsv ? `line ${i + 2}` : `item ${i + 1}`;
      if (!validate(row)) problems.push(...describeErrors(validate.errors).map((e) => `${where}: ${e}`));
      else if (registry.byTag.has(row.tagId)) problems.push(`${where}: tag ${row.tagId} appears twice`);
      else registry.byTag.set(row.tagId, row);
    });
    if (problems.length) throw gridedgeError('GE_ERR_REGISTRY_INVALID', `cylinder registry ${file}`, problems);
    return registry;
  }

  private get isCsv(): boolean {
    return path.extname(this.file ?? '').toLowerCase() === '.csv';
  }

  get size(): number {
    return this.byTag.size;
  }

  get(tagId: string): Cylinder | undefined {
    return this.byTag.get(tagId);
  }

  list(): Cylinder[] {
    return [...this.byTag.values()];
  }

  async upsert(cylinder: Cylinder): Promise<void> {
    this.byTag.set(cylinder.tagId, cylinder);
    await this.save();
  }

  async remove(tagId: string): Promise<boolean> {
    const had = this.byTag.delete(tagId);
    if (had) await this.save();
    return had;
  }

  /** Writes the whole registry back, one write at a time. */
  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.reject(new Error('no registry file is configured (kinds.lpg-reader.cylinders)'));
    const rows = this.list();
    const text = this.isCsv
      ? stringifyCsv(rows, { header: true, columns: ['tagId', ...Object.keys(CylinderFields)], cast: { boolean: (v) => String(v) } })
      : stringifyYaml(rows);
    this.writing = this.writing.then(() => writeFileDurably(file, text));
    return this.writing;
  }
}
