import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { healthEvent } from '../health.js';
import type { HttpRoute, KindContext, KindRuntime, Normalized, RuleContext, RuleOutput } from '../types.js';
import { CylinderBodySchema, CylinderRegistry, CylinderSchema, type Cylinder } from './registry.js';
import { localDate } from '../../core/time.js';

export const SettingsSchema = Type.Object(
  {
    cylinders: Type.Optional(
      Type.String({ minLength: 1, description: 'cylinder registry file (.csv with a header row, or .yaml), relative to the config file' }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type Settings = Static<typeof SettingsSchema>;

export const OptionsSchema = Type.Object(
  {
    station: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'the code of the filling station or delivery depot this reader belongs to',
    }),
  },
  { additionalProperties: false },
);

/**
 * Each scan is checked against the registry. A fill may not touch an unregistered, scrapped or
 * overdue cylinder, one owned by another station (cross-filling), nor put more gas in than its
 * rated fill; a delivery may not hand out an unregistered, scrapped or overdue one. Repeated
 * scans of one cylinder for one reason fold into one incident.
 */
export function scanRules(registry: CylinderRegistry, timezone: string) {
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    if (message.type === 'event')
      return healthEvent(message, ctx.device.id, { detail: 'reader opened or moved', cleared: 'reader closed again' });
    if (message.type !== 'reading' || message.measurement !== 'lpg_scan') return [];
    const f = message.fields;
    const tagId = String(f.tag_id);
    const operation = String(f.operation);
    const station = String((ctx.options as { station: string }).station);
    const before = Number(f.weight_before_kg);
    const after = Number(f.weight_after_kg);
    const base = { tagId, station, operation };
    const raise = (category: string, facts: Record<string, string | number | boolean>): RuleOutput => ({
      action: 'raise',
      category,
      correlationKey: `${category}:${tagId}`,
      occurredAt: message.ts,
      facts: { ...base, ...facts },
    });
    const cylinder = registry.get(tagId);
    if (!cylinder)
      return [raise('lpg.cylinder_unregistered', registry.writable ? {} : { registry: 'none configured (kinds.lpg-reader.cylinders)' })];
    const out: RuleOutput[] = [];
    // The registry's dates are calendar dates of the site: today is today there, not in UTC.
    const day = localDate(message.ts, timezone);
    if (cylinder.scrapped)
      out.push(raise('lpg.cylinder_scrapped', { ownerStation: cylinder.ownerStation, manufactureDate: cylinder.manufactureDate }));
    if (cylinder.nextInspectionDue < day) {
      out.push(raise('lpg.cylinder_overdue', { nextInspectionDue: cylinder.nextInspectionDue, lastInspection: cylinder.lastInspection }));
    }
    if (operation === 'fill') {
      if (cylinder.ownerStation !== station) out.push(raise('lpg.cross_filling', { ownerStation: cylinder.ownerStation }));
      const netKg = Math.round((after - (cylinder.tareKg ?? before)) * 100) / 100;
      if (netKg > cylinder.ratedFillKg) out.push(raise('lpg.overfill', { netKg, ratedFillKg: cylinder.ratedFillKg, weightAfterKg: after }));
    }
    return out;
  };
}

const TagParams = Type.Object({ tagId: CylinderSchema.properties.tagId });
const ErrorBody = Type.Object({ error: Type.String() });

function routes(registry: CylinderRegistry): HttpRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/lpg/cylinders',
      access: 'read',
      schema: { response: { 200: Type.Array(CylinderSchema) } },
      handler: async () => ({ status: 200, body: registry.list() }),
    },
    {
      method: 'GET',
      url: '/api/lpg/cylinders/:tagId',
      access: 'read',
      schema: { params: TagParams, response: { 200: CylinderSchema, 404: ErrorBody } },
      handler: async ({ params }) => {
        const c = registry.get(params.tagId!);
        return c ? { status: 200, body: c } : { status: 404, body: { error: `no cylinder ${params.tagId}` } };
      },
    },
    {
      method: 'PUT',
      url: '/api/lpg/cylinders/:tagId',
      access: 'operator',
      bodyLimit: 16 * 1024,
      schema: { params: TagParams, body: CylinderBodySchema, response: { 200: CylinderSchema, 409: ErrorBody } },
      handler: async ({ params, body }) => {
        if (!registry.writable) return { status: 409, body: { error: 'no registry file is configured (kinds.lpg-reader.cylinders)' } };
        const cylinder = { tagId: params.tagId!, ...(body as Omit<Cylinder, 'tagId'>) };
        await registry.upsert(cylinder);
        return { status: 200, body: cylinder };
      },
    },
    {
      method: 'DELETE',
      url: '/api/lpg/cylinders/:tagId',
      access: 'operator',
      schema: { params: TagParams, response: { 404: ErrorBody } },
      handler: async ({ params }) =>
        (await registry.remove(params.tagId!))
          ? { status: 204, body: '' }
          : { status: 404, body: { error: `no cylinder ${params.tagId}` } },
    },
  ];
}

export function start(settings: Settings, ctx: KindContext): KindRuntime {
  // Without a registry file every cylinder is unregistered, and incidents say so: the centre
  // learns the deployment is incomplete instead of hearing nothing.
  const registry = settings.cylinders ? CylinderRegistry.load(path.resolve(ctx.baseDir, settings.cylinders)) : CylinderRegistry.empty();
  return { rules: scanRules(registry, ctx.timezone), routes: routes(registry) };
}
