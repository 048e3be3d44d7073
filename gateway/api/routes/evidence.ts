/**
 * Evidence over the API: the bytes by sha256 (a read token, or a signed link that has not
 * expired: links are shared with the centre), every read logged (who, what, when, the answer);
 * the access log and the captures for operators; the purge of a subject's captures.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkEvidenceLink } from '../../evidence/links.js';
import { type Role, TokenAuth } from '../auth.js';
import type { ApiContext, ApiOptions } from '../context.js';
import { ErrorSchema } from '../schemas.js';

const Sha = Type.String({ pattern: '^[0-9a-f]{64}$' });

export function evidenceRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  opts: ApiOptions,
  holder: (req: FastifyRequest) => { name: string; role: Role } | undefined,
): void {
  const auth = new TokenAuth(opts.tokens);
  const { access } = ctx.evidence;
  app.get<{ Params: { sha256: string }; Querystring: { exp?: string; sig?: string } }>(
    '/api/evidence/:sha256',
    {
      config: { access: 'public' },
      schema: {
        tags: ['evidence'],
        summary: 'evidence bytes by sha256: a read token, or a signed link (exp, sig); every read is in the access log',
        params: Type.Object({ sha256: Sha }),
        querystring: Type.Object({
          exp: Type.Optional(Type.String({ maxLength: 12 })),
          sig: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 410: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { sha256 } = req.params;
      const byToken = req.headers.authorization ? auth.check(req.headers.authorization, 'read') : undefined;
      const who = byToken?.ok ? byToken.name : byToken ? 'invalid-token' : 'signed-link';
      const via = byToken ? ('token' as const) : ('link' as const);
      const log = (status: number, cls?: string) => access.record({ sha256, who, via, status, ip: req.ip, ...(cls ? { class: cls } : {}) });
      if (byToken && !byToken.ok) {
        await log(byToken.status);
        return reply.code(byToken.status).send({ error: byToken.error });
      }
      if (!byToken) {
        const check = checkEvidenceLink(ctx.evidence.secret, sha256, req.query.exp, req.query.sig);
        if (!check.ok) {
          await log(check.status);
          return reply.code(check.status).send({ error: check.reason });
        }
      }
      const found = await ctx.evidence.store.get(sha256);
      await log(found ? 200 : 404, found?.class);
      if (!found) return reply.code(404).send({ error: 'no such evidence (it may have expired under its retention, or been purged)' });
      return reply.header('content-type', found.mime).header('cache-control', 'private, max-age=300').send(found.bytes);
    },
  );

  app.get<{ Querystring: { sha256?: string; who?: string; since?: string; until?: string; limit?: number } }>(
    '/api/evidence-access',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['evidence'],
        summary: 'who read which evidence, when (newest first)',
        querystring: Type.Object(
          {
            sha256: Type.Optional(Sha),
            who: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'a token name, or signed-link' })),
            since: Type.Optional(Type.String({ format: 'date-time' })),
            until: Type.Optional(Type.String({ format: 'date-time' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Array(
            Type.Object({
              at: Type.String(),
              sha256: Type.String(),
              who: Type.String(),
              via: Type.String(),
              status: Type.Integer(),
              ip: Type.Optional(Type.String()),
              class: Type.Optional(Type.String()),
            }),
          ),
        },
      },
    },
    async (req) => {
      const q = req.query;
      return access.query({
        ...(q.sha256 ? { sha256: q.sha256 } : {}),
        ...(q.who ? { who: q.who } : {}),
        ...(q.since ? { since: Date.parse(q.since) } : {}),
        ...(q.until ? { until: Date.parse(q.until) } : {}),
        limit: q.limit ?? 1000,
      });
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/captures',
    {
      config: { access: 'read' },
      schema: {
        tags: ['evidence'],
        summary: 'the latest capture messages (gridedge.capture/v1), newest first',
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => ctx.captures(req.query.limit ?? 50),
  );

  app.post<{ Body: { plate?: string; captureId?: string } }>(
    '/api/captures/purge',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['evidence'],
        summary: "removes a subject's captures (by plate, or one by capture id) from the gateway and reports what went",
        body: Type.Object(
          {
            plate: Type.Optional(Type.String({ minLength: 2, maxLength: 16 })),
            captureId: Type.Optional(Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' })),
          },
          { additionalProperties: false, minProperties: 1, maxProperties: 1 },
        ),
        response: {
          200: Type.Object({
            plate: Type.Optional(Type.String()),
            captureId: Type.Optional(Type.String()),
            captures: Type.Array(Type.String()),
            images: Type.Integer(),
            unsent: Type.Integer(),
            note: Type.String(),
          }),
          400: ErrorSchema,
        },
      },
    },
    async (req) => {
      const report = await ctx.purgeCaptures(req.body);
      req.log.info({ by: holder(req)?.name, ...report, note: undefined }, 'captures purged');
      return report;
    },
  );
}
