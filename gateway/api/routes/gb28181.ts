/** GB/T 28181 in the API: the gateway's SIP id and port, each device with its registration and catalog, live streams. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { gridedgeError } from '../../../core/errors.js';
import type { ApiContext } from '../context.js';
import { sendError } from '../errors.js';
import { ErrorSchema, Gb28181DeviceSchema, Gb28181Schema } from '../schemas.js';

const GbIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{20}$' }) });

export function gb28181Routes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/gb28181',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gb28181'],
        summary: 'GB/T 28181: the SIP server, every device with its registration and catalog, and the live streams',
        response: { 200: Gb28181Schema, 404: ErrorSchema },
      },
    },
    async (_req, reply) => ctx.gb28181() ?? sendError(reply, gridedgeError('GE_ERR_NOT_CONFIGURED', 'gb28181')),
  );

  app.get(
    '/api/gb28181/devices/:id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['gb28181'],
        summary: 'one GB/T 28181 device: registration, keepalive, catalog, DeviceInfo and DeviceStatus answers',
        params: GbIdParams,
        response: { 200: Gb28181DeviceSchema, 404: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const gb = ctx.gb28181();
      if (!gb) return sendError(reply, gridedgeError('GE_ERR_NOT_CONFIGURED', 'gb28181'));
      return gb.devices.find((d) => d.id === id) ?? sendError(reply, gridedgeError('GE_ERR_DEVICE_NOT_FOUND', id, 'GB/T 28181 device'));
    },
  );
}
