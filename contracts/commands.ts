/**
 * The platform's commands to a gateway (`gridedge/v1/{grid}/{gatewayId}/cmd/{name}`) and the
 * gateway's replies (`…/reply`): the body, the canonical string both sides sign with HMAC-SHA256
 * and the reply's error codes. The gateway's handler and any platform-side code (the simulated
 * platform) speak it from here.
 */
import { createHmac } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { ISO_UTC_PATTERN, ULID_PATTERN } from './ids.js';

/** The incident lifecycle commands, in the order a work order passes through them. */
export const LIFECYCLE_COMMANDS = ['ack', 'dispatch', 'resolve', 'close'] as const;
export type LifecycleCommand = (typeof LIFECYCLE_COMMANDS)[number];

export const REPLY_SCHEMA_ID = 'gridedge.reply/v1';
export const COMMAND_NAMES = [...LIFECYCLE_COMMANDS, 'snapshot'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const CommandSchema = Type.Object(
  {
    correlationId: Type.String({ minLength: 1, maxLength: 128, description: "the platform's id for this command, echoed in the reply" }),
    issuedAt: Type.String({
      pattern: ISO_UTC_PATTERN,
      description: 'ISO 8601 UTC time the platform issued it',
    }),
    incidentId: Type.Optional(Type.String({ pattern: ULID_PATTERN, description: 'incident id (ULID)' })),
    cameraId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'camera id, for snapshot' })),
    by: Type.Optional(Type.String({ maxLength: 128, description: 'operator, up to 128 characters' })),
    assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'who handles it, for dispatch' })),
    note: Type.Optional(Type.String({ maxLength: 500, description: 'free text, up to 500 characters' })),
    auth: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex HMAC-SHA256 of the canonical string' }),
  },
  { additionalProperties: false },
);
export type Command = Static<typeof CommandSchema>;

export type ReplyErrorCode =
  | 'malformed'
  | 'unauthenticated'
  | 'stale'
  | 'unknown_command'
  | 'not_found'
  | 'invalid_transition'
  | 'unavailable'
  | 'commands_disabled';

/** What a snapshot command's reply carries: the picture as stored evidence, and the bytes when they fit. */
export interface ReplyEvidence {
  camera: string;
  sha256: string;
  mime: string;
  bytes: number;
  takenAt: string;
  /** A signed link to the bytes on the gateway (for platforms that reach it). */
  url?: string;
  /** The bytes, base64, when they fit evidence.inlineMaxBytes: a platform behind the gateway's NAT gets them anyway. */
  inline?: string;
  /** Where the push sink delivers it (evidence.push): every size reaches a platform that cannot reach the gateway. */
  delivery?: { sink: 'mqtt' | 'http' | 's3'; key: string; url?: string };
  /** Faces or plates in it were blurred before it left (evidence.privacy). */
  masked?: boolean;
}

export interface Reply {
  schema: typeof REPLY_SCHEMA_ID;
  correlationId: string | null;
  command: string;
  ok: boolean;
  incident?: { id: string; status: string; revision: number; seq: number };
  evidence?: ReplyEvidence;
  error?: { code: ReplyErrorCode; message: string };
}

/** The string both sides sign: fields in a fixed order, one per line, absent ones empty. */
export function canonicalCommand(name: string, c: Omit<Command, 'auth'>): string {
  return [name, c.correlationId, c.issuedAt, c.incidentId ?? c.cameraId ?? '', c.by ?? '', c.assignee ?? '', c.note ?? ''].join('\n');
}

export function signCommand(secret: string, name: string, c: Omit<Command, 'auth'>): string {
  return createHmac('sha256', secret).update(canonicalCommand(name, c)).digest('hex');
}
