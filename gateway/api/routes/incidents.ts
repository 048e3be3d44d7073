import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LIFECYCLE_COMMANDS, type LifecycleCommand } from '../../../contracts/commands.js';
import type { ApiContext } from '../context.js';
import { CommandBodySchema, ErrorSchema, IncidentQuerySchema, IncidentSchema } from '../schemas.js';
import { GridedgeError, gridedgeError } from '../../../core/errors.js';
import { sendError } from '../errors.js';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' }) });

export function incidentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: typeof IncidentQuerySchema.static }>(
    '/api/incidents',
    {
      config: { access: 'read' },
      schema: {
        tags: ['incidents'],
        summary: 'recent incidents, newest change first, by status, category, cell and time',
        querystring: IncidentQuerySchema,
        response: { 200: Type.Array(IncidentSchema) },
      },
    },
    async (req) => ctx.incidents(req.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/incidents/:id',
    {
      config: { access: 'read' },
      schema: { tags: ['incidents'], params: IdParams, response: { 200: IncidentSchema, 404: ErrorSchema } },
    },
    async (req, reply) => ctx.incident(req.params.id) ?? sendError(reply, gridedgeError('GE_ERR_INCIDENT_NOT_FOUND', req.params.id)),
  );

  // The same commands as the upstream command topic, for an operator on site.
  for (const command of LIFECYCLE_COMMANDS) {
    app.post<{ Params: { id: string }; Body: typeof CommandBodySchema.static }>(
      `/api/incidents/:id/${command}`,
      {
        config: { access: 'operator' },
        schema: {
          tags: ['incidents'],
          summary: `${command} an incident`,
          params: IdParams,
          body: CommandBodySchema,
          response: { 200: IncidentSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
        },
      },
      async (req, reply) => {
        const r = await ctx.command(req.params.id, command as LifecycleCommand, req.body ?? {});
        if (r.ok) {
          await r.durable;
          return r.message;
        }
        const code =
          r.code === 'not_found'
            ? 'GE_ERR_INCIDENT_NOT_FOUND'
            : r.code === 'invalid_transition'
              ? 'GE_ERR_INVALID_TRANSITION'
              : 'GE_ERR_BAD_REQUEST';
        return sendError(reply, new GridedgeError(code, r.error));
      },
    );
  }
}
