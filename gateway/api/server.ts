/**
 * The HTTP API (fastify). For now only `/healthz`; every route carries a schema so validation
 * and the OpenAPI document come from one place when the API grows.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
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
}

export async function startApi(opts: ApiOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Request lines would drown device logs on a busy gateway; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/healthz', { schema: { response: { 200: HealthSchema } } }, async () => opts.health());
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
