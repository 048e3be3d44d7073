import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Secrets must never reach logs. We never log config objects whole, and pino's redaction
 * catches the obvious keys anywhere they might slip in.
 */
const REDACT = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'commandSecret',
  '*.commandSecret',
  'auth',
  '*.auth',
  'linkSecret',
  '*.linkSecret',
  'sig',
  '*.sig',
  'config.upstream.password',
  'config.influx.token',
  'config.devices[*].secret',
  'req.headers.authorization',
  'tokens[*].token',
  '*.tokens[*].token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { svc: 'gridedge' }, redact: { paths: REDACT, censor: '[secret]' } }, destination);
}
