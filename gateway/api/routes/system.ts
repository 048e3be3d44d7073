import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../../../core/package.js';
import type { Role, StreamTickets } from '../auth.js';
import type { ApiContext } from '../context.js';
import { HealthSchema } from '../schemas.js';
import type { ServerResponse } from 'node:http';

export interface FeedAccess {
  tickets: StreamTickets;
  /** The token holder of an authenticated request. */
  holder(req: FastifyRequest): { name: string; role: Role } | undefined;
}

export function systemRoutes(app: FastifyInstance, ctx: ApiContext, feed: FeedAccess): void {
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

  // The console: one page, everything bundled, no CDN (the gateway may have no internet).
  const page = readFileSync(path.join(PACKAGE_ROOT, 'gateway', 'console', 'index.html'), 'utf8');
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(page),
  );
}
