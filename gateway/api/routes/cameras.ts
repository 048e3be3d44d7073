import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { CameraHealthSchema, ErrorSchema, VideoSourceSchema, VisionSchema } from '../schemas.js';
import { gridedgeError } from '../../../core/errors.js';
import { sendError } from '../errors.js';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }) });

export function cameraRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/cameras',
    {
      config: { access: 'read' },
      schema: {
        tags: ['cameras'],
        summary: 'cameras with their health (ONVIF, stream, fps, drops, motion), and the live video devices announce',
        response: { 200: Type.Object({ cameras: Type.Array(CameraHealthSchema), videoSources: Type.Array(VideoSourceSchema) }) },
      },
    },
    async () => ({ cameras: ctx.cameras(), videoSources: ctx.videoSources() }),
  );

  app.get(
    '/api/cameras/:id/frame',
    {
      config: { access: 'read' },
      schema: {
        tags: ['cameras'],
        summary:
          "the camera's latest frame read by the detectors, with their boxes, labels and plate readings drawn (JPEG; x-frame-at and " +
          'x-detections headers)',
        produces: ['image/jpeg'],
        params: IdParams,
        response: { 404: ErrorSchema, 502: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const pending = ctx.cameraFrame(id);
      if (!pending) return sendError(reply, gridedgeError('GE_ERR_CAMERA_NOT_FOUND', id));
      try {
        const frame = await pending;
        if (!frame)
          return reply
            .code(404)
            .send({ error: `no detector frame from ${id} yet (detectors run only on cameras with detect: in the config)` });
        return reply
          .type('image/jpeg')
          .header('cache-control', 'no-store')
          .header('x-frame-at', new Date(frame.at).toISOString())
          .header('x-detections', String(frame.detections))
          .send(frame.jpeg);
      } catch (err) {
        return reply.code(502).send({ error: (err as Error).message });
      }
    },
  );

  app.get(
    '/api/vision',
    {
      config: { access: 'read' },
      schema: {
        tags: ['cameras'],
        summary:
          'the on-device detectors: worker load, what each camera sees, and the latest captures (one per tracked face, plate, person ' +
          'or vehicle)',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }, { additionalProperties: false }),
        response: { 200: VisionSchema },
      },
    },
    async (req) => ctx.vision((req.query as { limit: number }).limit),
  );

  app.get(
    '/api/cameras/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['cameras'],
        summary: "one camera's health",
        params: IdParams,
        response: { 200: CameraHealthSchema, 404: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const camera = ctx.cameras().find((c) => c.id === id);
      return camera ?? sendError(reply, gridedgeError('GE_ERR_CAMERA_NOT_FOUND', id));
    },
  );

  app.get(
    '/api/cameras/:id/snapshot',
    {
      config: { access: 'read' },
      schema: {
        tags: ['cameras'],
        summary: 'a fresh picture from the camera (JPEG)',
        produces: ['image/jpeg'],
        params: IdParams,
        response: { 404: ErrorSchema, 502: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const pending = ctx.cameraSnapshot(id);
      if (!pending) return sendError(reply, gridedgeError('GE_ERR_CAMERA_NOT_FOUND', id));
      try {
        const jpeg = await pending;
        return reply.type('image/jpeg').header('cache-control', 'no-store').send(jpeg);
      } catch (err) {
        return reply.code(502).send({ error: (err as Error).message });
      }
    },
  );
}
