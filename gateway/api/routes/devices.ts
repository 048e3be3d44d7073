import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { DeviceDetailSchema, DeviceSchema, ErrorSchema, NewDeviceSchema } from '../schemas.js';
import { sendError } from '../errors.js';
import { gridedgeError } from '../../../core/errors.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export function deviceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/sources',
    {
      config: { access: 'read' },
      schema: {
        tags: ['devices'],
        summary: 'the sources (zigbee2mqtt, ChirpStack): connection, messages, refusals, unknown devices and what can be adopted',
      },
    },
    async () => ctx.sources(),
  );

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
    async (req, reply) => ctx.device(req.params.id) ?? sendError(reply, gridedgeError('GE_ERR_DEVICE_NOT_FOUND', req.params.id)),
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
        return sendError(reply, err);
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
      try {
        await ctx.removeDevice(req.params.id);
        return reply.code(204).send();
      } catch (err) {
        return sendError(reply, err);
      }
    },
  );
}
