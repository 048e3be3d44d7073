/**
 * The push endpoints of the sources a platform pushes to (OneNET's data push): public routes,
 * each request checked by its source's own signature before anything in it is used, the body
 * read raw (the signature covers the bytes as sent) and answered at once (a platform retries
 * whatever it does not get a 200 for within its timeout).
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export function pushRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const paths = ctx.pushSources();
  if (!paths.length) return;
  void app.register(async (scope) => {
    // Scoped to these routes: every other route keeps fastify's JSON parsing.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    for (const { source, path } of paths) {
      scope.route<{ Querystring: Record<string, string | undefined> }>({
        method: ['GET', 'POST'],
        url: path,
        config: { access: 'public' },
        schema: { tags: ['sources'], summary: `${source} pushes here (its URL check and its data), signed with its token`, security: [] },
        handler: async (req, reply) => {
          const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const answer = ctx.push(source, { method: req.method, query: req.query, headers: req.headers, body, remoteAddress: req.ip });
          return reply.code(answer.status).type('text/plain; charset=utf-8').send(answer.body);
        },
      });
    }
  });
}
