import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { DeviceDetailSchema, DeviceSchema, ErrorSchema, NewDeviceSchema } from '../schemas.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export function deviceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/devices',
    {
      config: { access: 'read' },
      schema: {
        tags: ['devices'],
        summary: 'every device with its status, last values and rejection count',
        response: { 200: Type.Array(DeviceSchema) },
      },
    },
    async () => ctx.devices(),
  );

  app.get<{ Params: { id: string } }>(
    '/api/devices/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['devices'],
        summary: 'one device, with its latest rejected messages and open incidents',
        params: IdParams,
        response: { 200: DeviceDetailSchema, 404: ErrorSchema },
      },
    },
    async (req, reply) => ctx.device(req.params.id) ?? reply.code(404).send({ error: `no device ${req.params.id}` }),
  );

  app.post<{ Body: typeof NewDeviceSchema.static }>(
    '/api/devices',
    {
      config: { access: 'operator' },
      bodyLimit: 64 * 1024,
      schema: {
        tags: ['devices'],
        summary: 'provision a device, live; the generated secret is returned once',
        body: NewDeviceSchema,
        response: { 201: Type.Object({ id: Type.String(), secret: Type.Optional(Type.String()) }), 400: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (req, reply) => {
      try {
        return reply.code(201).send(await ctx.addDevice(req.body));
      } catch (err) {
        const message = (err as Error).message;
        return reply.code(/exists already/.test(message) ? 409 : 400).send({ error: message });
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/devices/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['devices'],
        summary: 'remove a provisioned device and close its connection',
        params: IdParams,
        response: { 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (req, reply) => {
      const r = await ctx.removeDevice(req.params.id);
      if (r === 'removed') return reply.code(204).send();
      if (r === 'in_config') return reply.code(409).send({ error: `device ${req.params.id} is in the config file: remove it there` });
      return reply.code(404).send({ error: `no provisioned device ${req.params.id}` });
    },
  );
}
