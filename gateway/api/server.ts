/**
 * The HTTP API (fastify). Every route declares a JSON schema (validation, serialization and the
 * OpenAPI document at /openapi.json come from it) and who may call it: `public` (health,
 * readiness, the console page, signed evidence links), `read` or `operator` bearer tokens, or
 * `device` (routes device kinds add, which authenticate their devices themselves). A route that
 * declares nothing needs a read token: forgetting fails closed.
 */
import { gb28181Routes } from './routes/gb28181.js';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../../core/log.js';
import { type Role, StreamTickets, TokenAuth } from './auth.js';
import type { ApiContext, ApiOptions } from './context.js';
import { cameraRoutes } from './routes/cameras.js';
import { deviceRoutes } from './routes/devices.js';
import { incidentRoutes } from './routes/incidents.js';
import { systemRoutes } from './routes/system.js';
import { evidenceRoutes } from './routes/evidence.js';
import { pushRoutes } from './routes/push.js';
import { cameraPushRoutes } from './routes/camera-push.js';
import { gridedgeError } from '../../core/errors.js';

export type Access = 'public' | 'device' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export async function startApi(opts: ApiOptions, ctx: ApiContext, log: Logger): Promise<{ app: FastifyInstance; port: number }> {
  const app: FastifyInstance = Fastify({
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: log.child({ component: 'api' }) as FastifyBaseLogger,
    // Request lines would drown device logs on a busy gateway; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Refuse unknown keys rather than drop them silently: a typo in a request should say so.
    ajv: { customOptions: { removeAdditional: false } },
    // Closing the API also closes idle keep-alive connections (a browser's), not only new ones.
    forceCloseConnections: true,
  });
  // GA/T 1400 devices send JSON as application/VIID+JSON.
  app.addContentTypeParser(/^application\/viid\+json/i, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  await app.register(swagger, {
    openapi: {
      info: { title: 'gridedge', version: opts.version, description: 'Edge-sensing gateway API: devices, incidents, evidence, health' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const auth = new TokenAuth(opts.tokens);
  const tickets = new StreamTickets();
  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access ?? 'read';
    if (access === 'public' || access === 'device') return;
    // EventSource cannot send headers: the live feed takes a one-time ticket instead (StreamTickets).
    const ticket = !req.headers.authorization && req.routeOptions.url === '/api/events' ? queryParam(req.url, 'ticket') : undefined;
    const result = ticket !== undefined ? tickets.redeem(ticket) : auth.check(req.headers.authorization, access);
    if (!result.ok) return reply.code(result.status).send({ error: result.error });
    if (access === 'operator' && result.role !== 'operator') return reply.code(403).send({ error: `'${result.name}' is read-only` });
    ticketHolders.set(req, { name: result.name, role: result.role });
  });

  systemRoutes(app, ctx, { tickets, holder: (req: FastifyRequest) => ticketHolders.get(req) });
  evidenceRoutes(app, ctx, opts, (req: FastifyRequest) => ticketHolders.get(req));
  deviceRoutes(app, ctx);
  cameraRoutes(app, ctx);
  incidentRoutes(app, ctx);
  gb28181Routes(app, ctx);
  pushRoutes(app, ctx);
  cameraPushRoutes(app, ctx);
  for (const route of opts.routes) {
    const users = new WeakMap<object, string>();
    const authenticate = route.authenticate;
    app.route({
      method: route.method,
      url: route.url,
      bodyLimit: route.bodyLimit ?? 1024 * 1024,
      config: { access: route.access },
      ...(route.schema ? { schema: route.schema } : {}),
      // Before the body is read: a refusal (a Digest challenge) answers whatever the body holds.
      ...(authenticate
        ? {
            onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
              const a = authenticate({ method: req.method, url: req.url, headers: req.headers });
              if (a.ok) return void users.set(req, a.user);
              if (a.headers) reply.headers(a.headers);
              return reply.code(a.status).send(a.body);
            },
          }
        : {}),
      handler: async (req, reply) => {
        const user = users.get(req);
        const res = await route.handler({
          method: req.method,
          url: req.url,
          body: req.body,
          params: req.params as Record<string, string>,
          headers: req.headers,
          ...(user !== undefined ? { user } : {}),
        });
        if (res.headers) reply.headers(res.headers);
        return reply.code(res.status).send(res.body);
      },
    });
  }

  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close();
    throw gridedgeError('GE_ERR_LISTEN', 'API', `${opts.host}:${opts.port}`, (err as Error).message);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { app, port };
}

function queryParam(url: string, name: string): string | undefined {
  return new URL(url, 'http://x').searchParams.get(name) ?? undefined;
}

/** Who each authenticated request is, for routes that hand out tickets. */
const ticketHolders = new WeakMap<object, { name: string; role: Role }>();
