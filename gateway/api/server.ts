/**
 * The HTTP API (fastify). For now `/healthz` and signed evidence links; every route carries a
 * schema so validation and the OpenAPI document come from one place when the API grows.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { HttpRoute } from '../../devices/types.js';
import { checkEvidenceLink } from '../evidence/links.js';
import { TokenAuth, type ApiToken } from './auth.js';
import type { EvidenceStore } from '../evidence/store.js';
import type { Logger } from '../log.js';

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  gatewayId: Type.String(),
  grid: Type.String(),
  version: Type.String(),
  uptimeSeconds: Type.Number(),
  broker: Type.Object({ connectedClients: Type.Integer() }),
  uplink: Type.Object({ configured: Type.Boolean(), connected: Type.Boolean() }),
  series: Type.Object({ sink: Type.String(), written: Type.Integer(), pending: Type.Integer(), dropped: Type.Integer() }),
  incidents: Type.Object({ active: Type.Integer() }),
  outbox: Type.Object({ pending: Type.Integer(), oldestAgeSeconds: Type.Integer(), lastSeq: Type.Integer(), dropped: Type.Integer() }),
  problems: Type.Array(Type.String()),
});
export type Health = Static<typeof HealthSchema>;

export interface ApiOptions {
  host: string;
  port: number;
  log: Logger;
  health(): Health;
  evidence: { store: EvidenceStore; secret: string };
  /** Routes device kinds add (GA/T 1400 uploads, registries). */
  routes: HttpRoute[];
  tokens: ApiToken[];
}

export async function startApi(opts: ApiOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Request lines would drown device logs on a busy gateway; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/healthz', { schema: { response: { 200: HealthSchema } } }, async () => opts.health());

  // Evidence by signed link only: faces and plates are personal data, and a link the platform
  // passes on must stop working when it expires. The sha256 pattern also rules out any path.
  const ErrorBody = Type.Object({ error: Type.String() });
  app.get<{ Params: { sha256: string }; Querystring: { exp?: string; sig?: string } }>('/api/evidence/:sha256', {
    schema: {
      params: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
      querystring: Type.Object({ exp: Type.Optional(Type.String({ maxLength: 12 })), sig: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 410: ErrorBody },
    },
  }, async (req, reply) => {
    const check = checkEvidenceLink(opts.evidence.secret, req.params.sha256, req.query.exp, req.query.sig);
    if (!check.ok) return reply.code(check.status).send({ error: check.reason });
    const found = await opts.evidence.store.get(req.params.sha256);
    if (!found) return reply.code(404).send({ error: 'no such evidence (it may have expired under its retention)' });
    return reply.header('content-type', found.mime).header('cache-control', 'private, max-age=300').send(found.bytes);
  });
  // GA/T 1400 devices send JSON as application/VIID+JSON.
  app.addContentTypeParser(/^application\/viid\+json/i, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  const auth = new TokenAuth(opts.tokens);
  for (const route of opts.routes) {
    app.route({
      method: route.method,
      url: route.url,
      bodyLimit: route.bodyLimit ?? 1024 * 1024,
      ...(route.schema ? { schema: route.schema } : {}),
      handler: async (req, reply) => {
        if (route.access !== 'device') {
          const a = auth.check(req.headers.authorization, route.access);
          if (!a.ok) return reply.code(a.status).send({ error: a.error });
        }
        const res = await route.handler({ method: req.method, url: req.url, body: req.body, params: req.params as Record<string, string>, headers: req.headers });
        if (res.headers) reply.headers(res.headers);
        return reply.code(res.status).send(res.body);
      },
    });
  }
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close();
    throw new Error(`the API cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { app, port };
}
