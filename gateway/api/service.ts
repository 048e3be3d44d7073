/** The HTTP API as a service: it listens on start, and evidence links follow the port it got. */
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../core/package.js';
import type { HttpRoute } from '../../devices/types.js';
import type { Gateway } from '../gateway.js';
import type { Service } from '../services.js';
import { apiContext } from './facade.js';
import { startApi } from './server.js';
import { readFileSync } from 'node:fs';

export class ApiService implements Service {
  readonly name = 'API';
  private app?: FastifyInstance;
  /** The port it listens on, once started. */
  port?: number;

  constructor(
    private readonly gateway: Gateway,
    private readonly routes: () => HttpRoute[],
  ) {}

  async start(): Promise<void> {
    const { config, log } = this.gateway;
    const { host, port } = config.api;
    const tokens = config.api.tokens.filter((t) => t.token).map((t) => ({ name: t.name, token: t.token!, role: t.role }));
    const tls = config.api.tls ? { cert: readFileSync(config.api.tls.cert), key: readFileSync(config.api.tls.key) } : undefined;
    const started = await startApi(
      { host, port, version: VERSION, routes: this.routes(), tokens, ...(tls ? { tls } : {}) },
      apiContext(this.gateway),
      log,
    );
    this.app = started.app;
    this.port = started.port;
    this.gateway.evidenceService.listeningOn(started.port);
  }

  async stop(): Promise<void> {
    await this.app?.close();
  }
}
