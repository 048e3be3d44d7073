import { type DestinationStream, type Logger, pino } from 'pino';
import { redactionPaths } from './secrets.js';

export type { Logger };

/**
 * Secrets must never reach logs. We never log config objects whole, and pino's redaction
 * catches every secret key (core/secrets.ts) anywhere they might slip in.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { svc: 'gridedge' }, redact: { paths: redactionPaths(), censor: '[secret]' } }, destination);
}
