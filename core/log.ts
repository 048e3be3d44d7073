import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { redactionPaths } from './secrets.js';

export type { Logger };

/**
 * Secrets must never reach logs. We never log config objects whole, and pino's redaction
 * catches every secret key (core/secrets.ts) anywhere they might slip in.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { svc: 'gridedge' }, redact: { paths: redactionPaths(), censor: '[secret]' } }, destination);
}

/** Human-readable lines for a terminal (pino-pretty), times in the local zone; services keep JSON. */
export function prettyStream(): DestinationStream {
  return pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l o', ignore: 'pid,hostname,svc', sync: true });
}
