/**
 * Where Hikvision cameras push their events (ISAPI httpHosts): `POST /isapi/{camera}/events`,
 * signed with HTTP Digest as the camera before its body is read (a push without it gets the
 * challenge; a camera that does not push is 404), the body taken raw (XML, or multipart/form-data
 * with its pictures) up to 8 MiB, and answered 200 at once: the camera sends its next event only
 * after its last was answered.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_PUSH_BYTES } from '../../../devices/camera/isapi-push.js';
import type { ApiContext } from '../context.js';

type Req = FastifyRequest<{ Params: { camera: string } }>;

export function cameraPushRoutes(app: FastifyInstance, ctx: ApiContext): void {
  void app.register(async (scope) => {
    // Scoped to this route: every other route keeps fastify's JSON parsing.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_PUSH_BYTES }, (_req, body, done) => done(null, body));
    scope.route({
      method: 'POST',
      url: '/isapi/:camera/events',
      bodyLimit: MAX_PUSH_BYTES,
      config: { access: 'device' },
      schema: {
        tags: ['cameras'],
        summary: "a Hikvision camera's pushed event (ISAPI httpHosts), signed with Digest as the camera",
        security: [],
        params: { type: 'object', properties: { camera: { type: 'string', maxLength: 64 } }, required: ['camera'] },
      },
      onRequest: async (req: Req, reply: FastifyReply) => {
        const auth = req.headers.authorization;
        const r = ctx.isapiPushAuth(req.params.camera, req.method, req.url, typeof auth === 'string' ? auth : undefined);
        if (!r) return reply.code(404).type('text/plain; charset=utf-8').send('no camera pushes here');
        if (r.ok) return;
        return reply.code(401).header('www-authenticate', r.challenge).type('text/plain; charset=utf-8').send('Unauthorized');
      },
      handler: async (req: Req, reply: FastifyReply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = ctx.isapiPush(req.params.camera, req.headers['content-type'], body);
        return reply
          .code(r.ok ? 200 : 400)
          .type('text/plain; charset=utf-8')
          .send(r.ok ? 'OK' : r.why);
      },
    });
  });
}
