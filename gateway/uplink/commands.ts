/**
 * Commands from the central platform on `gridedge/v1/{grid}/{gatewayId}/cmd/{name}`, each
 * answered on `…/reply` with its correlation id. A command is applied only if it is well formed,
 * signed with the shared command secret (HMAC-SHA256 over a canonical string), fresh (issuedAt
 * within five minutes) and new: a repeat of a correlation id (a QoS 1 redelivery) gets the first
 * answer again and is not applied twice. Without a configured secret, every command is refused.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  COMMAND_NAMES,
  type Command,
  type CommandName,
  CommandSchema,
  type LifecycleCommand,
  REPLY_SCHEMA_ID,
  type Reply,
  type ReplyErrorCode,
  type ReplyEvidence,
  signCommand,
} from '../../contracts/commands.js';
import type { IncidentManager } from '../incidents/manager.js';
import type { Logger } from '../../core/log.js';
import { compile, describeErrors, payloadAjv } from '../../core/schema.js';
import type { Counters } from '../../core/counters.js';

const validate = compile(payloadAjv, CommandSchema);
const MAX_SKEW_MS = 5 * 60_000;
const REMEMBER_MS = 15 * 60_000;
const REMEMBER_MAX = 10_000;

export interface CommandHandlerOptions {
  incidents: IncidentManager;
  secret?: string;
  log: Logger;
  counters: Counters;
  /** A camera's snapshot stored as evidence; undefined when no such camera is configured, thrown when it gives none. */
  snapshot?: (cameraId: string) => Promise<ReplyEvidence | undefined>;
  now?: () => number;
}

export class CommandHandler {
  /** Correlation ids answered (or being answered) lately: a redelivery gets the same answer. */
  private readonly seen = new Map<string, { at: number; reply: Promise<Reply> }>();
  private readonly now: () => number;

  constructor(private readonly opts: CommandHandlerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Returns the reply, and when the command changed an incident, that change's durability. */
  async handle(name: string, payload: Buffer): Promise<{ reply: Reply; durable?: Promise<void> }> {
    const result = await this.apply(name, payload);
    const { counters, log } = this.opts;
    counters.inc('commands_total', {
      command: COMMAND_NAMES.includes(name as CommandName) ? name : 'unknown',
      result: result.reply.ok ? 'ok' : result.reply.error!.code,
    });
    if (!result.reply.ok)
      log.warn(
        { command: name.slice(0, 40), correlationId: result.reply.correlationId, error: result.reply.error },
        'platform command refused',
      );
    else
      log.info({ command: name, correlationId: result.reply.correlationId, incident: result.reply.incident }, 'platform command applied');
    return result;
  }

  private async apply(name: string, payload: Buffer): Promise<{ reply: Reply; durable?: Promise<void> }> {
    const fail = (code: ReplyErrorCode, message: string, correlationId: string | null = null): { reply: Reply } => ({
      reply: { schema: REPLY_SCHEMA_ID, correlationId, command: name.slice(0, 40), ok: false, error: { code, message } },
    });
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      return fail('malformed', `not JSON: ${(err as Error).message}`);
    }
    const correlationId =
      typeof (body as { correlationId?: unknown })?.correlationId === 'string'
        ? (body as { correlationId: string }).correlationId.slice(0, 128)
        : null;
    if (!validate(body)) return fail('malformed', describeErrors(validate.errors).join('; '), correlationId);
    if (!COMMAND_NAMES.includes(name as CommandName))
      return fail(
        'unknown_command',
        `unknown command '${name.slice(0, 40)}' (expected one of: ${COMMAND_NAMES.join(', ')})`,
        correlationId,
      );
    const secret = this.opts.secret;
    if (!secret) return fail('commands_disabled', 'this gateway has no upstream.commandSecret, so it accepts no commands', correlationId);
    const { auth, ...fields } = body;
    const expected = Buffer.from(signCommand(secret, name, fields), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(auth, 'hex')))
      return fail('unauthenticated', 'auth does not match the command secret', correlationId);
    const skew = Math.abs(this.now() - Date.parse(body.issuedAt));
    if (!(skew <= MAX_SKEW_MS))
      return fail(
        'stale',
        `issuedAt is ${Math.round(skew / 1000)} s away from the gateway's clock (limit ${MAX_SKEW_MS / 1000} s)`,
        correlationId,
      );

    this.forget();
    const earlier = this.seen.get(body.correlationId);
    if (earlier) return { reply: await earlier.reply }; // a redelivery: same answer, not applied again

    // Remembered before it is applied: a redelivery arriving meanwhile waits for this answer.
    const result = this.decide(name, body, fail);
    this.seen.set(body.correlationId, { at: this.now(), reply: result.then((r) => r.reply) });
    // Not applied (the HA pair's store unreachable): the platform's resend must be tried afresh.
    result.catch(() => this.seen.delete(body.correlationId));
    return result;
  }

  private async decide(
    name: string,
    body: Command,
    fail: (code: ReplyErrorCode, message: string, correlationId?: string | null) => { reply: Reply },
  ): Promise<{ reply: Reply; durable?: Promise<void> }> {
    let result: { reply: Reply; durable?: Promise<void> };
    if (name === 'snapshot') {
      result = await this.snapshot(body, fail);
    } else if (!body.incidentId) {
      result = fail('malformed', `${name} needs an incidentId`, body.correlationId);
    } else {
      const r = await this.opts.incidents.runCommand({
        command: name as LifecycleCommand,
        incidentId: body.incidentId,
        ...(body.by ? { by: body.by } : {}),
        ...(body.assignee ? { assignee: body.assignee } : {}),
        ...(body.note ? { note: body.note } : {}),
      });
      result = r.ok
        ? {
            reply: {
              schema: REPLY_SCHEMA_ID,
              correlationId: body.correlationId,
              command: name,
              ok: true,
              incident: { id: r.message.id, status: r.message.status, revision: r.message.revision, seq: r.message.seq },
            },
            durable: r.durable,
          }
        : fail(r.code, r.error, body.correlationId);
    }
    return result;
  }

  private async snapshot(
    body: Command,
    fail: (code: ReplyErrorCode, message: string, correlationId?: string | null) => { reply: Reply },
  ): Promise<{ reply: Reply }> {
    if (!body.cameraId) return fail('malformed', 'snapshot needs a cameraId', body.correlationId);
    let evidence: ReplyEvidence | undefined;
    try {
      evidence = await this.opts.snapshot?.(body.cameraId);
    } catch (err) {
      return fail('unavailable', `camera '${body.cameraId}' gave no picture: ${(err as Error).message}`, body.correlationId);
    }
    if (!evidence) return fail('not_found', `camera '${body.cameraId}' is not configured on this gateway`, body.correlationId);
    return { reply: { schema: REPLY_SCHEMA_ID, correlationId: body.correlationId, command: 'snapshot', ok: true, evidence } };
  }

  private forget(): void {
    const cutoff = this.now() - REMEMBER_MS;
    for (const [id, entry] of this.seen) {
      if (entry.at >= cutoff && this.seen.size <= REMEMBER_MAX) break;
      this.seen.delete(id);
    }
  }
}
