/** Coded errors as API answers: the error's own HTTP status and `{ error, code }`; anything else is the server's fault (500). */
import type { FastifyReply } from 'fastify';
import { isGridedgeError } from '../../core/errors.js';

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (isGridedgeError(err) && err.statusCode !== undefined) return reply.code(err.statusCode).send({ error: err.message, code: err.code });
  throw err;
}
