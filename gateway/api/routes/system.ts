import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkEvidenceLink } from '../../evidence/links.js';
import { PACKAGE_ROOT } from '../../../core/package.js';
import { type Role, type StreamTickets, TokenAuth } from '../auth.js';
import type { ApiContext, ApiOptions } from '../context.js';
import { ErrorSchema, HealthSchema } from '../schemas.js';
import type { ServerResponse } from 'node:http';

export interface FeedAccess {
  tickets: StreamTickets;
  /** The token holder of an authenticated request. */
  holder(req: FastifyRequest): { name: string; role: Role } | undefined;
}

export function systemRoutes(app: FastifyInstance, ctx: ApiContext, opts: ApiOptions, feed: FeedAccess): void {
  const feeds = new Set<ServerResponse>();
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: { tags: ['system'], summary: 'liveness and the state of each stage', security: [], response: { 200: HealthSchema } },
    },
    async () => ctx.health(),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'ready to take devices: 200, else 503 with the reasons',
        security: [],
        response: {
          200: Type.Object({ ready: Type.Boolean(), problems: Type.Array(Type.String()) }),
          503: Type.Object({ ready: Type.Boolean(), problems: Type.Array(Type.String()) }),
        },
      },
    },
    async (_req, reply) => {
      const r = ctx.ready();
      return reply.code(r.ready ? 200 : 503).send(r);
    },
  );

  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/api/config',
    {
      config: { access: 'read' },
      schema: { tags: ['system'], summary: 'the active config, secrets masked', response: { 200: Type.Unknown() } },
    },
    async () => ctx.config(),
  );

  app.get(
    '/metrics',
    {
      config: { access: 'read' },
      schema: { tags: ['system'], summary: 'Prometheus metrics', produces: ['text/plain'], response: { 200: Type.String() } },
    },
    async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await ctx.metrics()),
  );

  // A one-time ticket for the live feed (EventSource cannot send the token as a header).
  app.post(
    '/api/events/ticket',
    {
      config: { access: 'read' },
      schema: {
        tags: ['incidents'],
        summary: 'a ticket that opens the live feed once, within 30 s: GET /api/events?ticket=…',
        response: { 200: Type.Object({ ticket: Type.String(), expiresInSeconds: Type.Integer() }) },
      },
    },
    async (req) => feed.tickets.issue(feed.holder(req) ?? { name: 'unknown', role: 'read' }),
  );

  // The live incident feed for the console, as server-sent events.
  app.get(
    '/api/events',
    {
      config: { access: 'read' },
      schema: {
        tags: ['incidents'],
        summary: 'incident messages as they happen (server-sent events): a Bearer token, or ?ticket= from POST /api/events/ticket',
        querystring: Type.Object({ ticket: Type.Optional(Type.String({ maxLength: 64 })) }),
      },
    },
    (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': connected\n\n');
      const stop = ctx.onIncident((m) => res.write(`event: incident\ndata: ${JSON.stringify(m)}\n\n`));
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      feeds.add(res);
      req.raw.once('close', () => {
        clearInterval(ping);
        stop();
        feeds.delete(res);
      });
    },
  );
  // A live feed never ends by itself: the API's close ends each one, or closing would wait for the browser.
  app.addHook('preClose', (done) => {
    for (const res of feeds) res.end();
    done();
  });

  // Evidence: with a read token, or by a signed link that has not expired (links are shared with the centre).
  const auth = new TokenAuth(opts.tokens);
  app.get<{ Params: { sha256: string }; Querystring: { exp?: string; sig?: string } }>(
    '/api/evidence/:sha256',
    {
      config: { access: 'public' },
      schema: {
        tags: ['evidence'],
        summary: 'evidence bytes by sha256: a read token, or a signed link (exp, sig)',
        params: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
        querystring: Type.Object({
          exp: Type.Optional(Type.String({ maxLength: 12 })),
          sig: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 410: ErrorSchema },
      },
    },
    async (req, reply) => {
      const byToken = req.headers.authorization ? auth.check(req.headers.authorization, 'read') : undefined;
      if (byToken && !byToken.ok) return reply.code(byToken.status).send({ error: byToken.error });
      if (!byToken) {
        const check = checkEvidenceLink(ctx.evidence.secret, req.params.sha256, req.query.exp, req.query.sig);
        if (!check.ok) return reply.code(check.status).send({ error: check.reason });
      }
      const found = await ctx.evidence.store.get(req.params.sha256);
      if (!found) return reply.code(404).send({ error: 'no such evidence (it may have expired under its retention)' });
      return reply.header('content-type', found.mime).header('cache-control', 'private, max-age=300').send(found.bytes);
    },
  );

  // The console: one page, everything bundled, no CDN (the gateway may have no internet).
  const page = readFileSync(path.join(PACKAGE_ROOT, 'gateway', 'console', 'index.html'), 'utf8');
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(page),
  );
}
