/** What every `gridedge` subcommand shares: argument parsers, and how a failure becomes a message and an exit code. */
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/load.js';

/** A mistake in what the user typed (exit code 2, like an invalid config). */
export class UsageError extends Error {}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${value}' is not a port (0..65535)`);
  return n;
}

export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a number >= 0`);
  return n;
}

export function mqttUrl(value: string): string {
  if (!/^(mqtt|mqtts|tcp|ssl):\/\/[^\s/]+$/.test(value)) {
    throw new InvalidArgumentError(`'${value}' is not a broker URL (expected mqtt://host:port or mqtts://host:port)`);
  }
  return value;
}

/** Errors the user can fix get a plain message and exit code 2; anything else is a bug or an environment failure (1). */
export function fail(err: unknown): never {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`gridedge: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`gridedge: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
}

/** Runs a command's body, turning whatever it throws into the plain message and exit code of fail(). */
export function guarded<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (err) {
      fail(err);
    }
  };
}

export const whole = (what: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`'${v}' is not a valid ${what} (${min}..${max})`);
  return n;
};

export const number = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number (${what})`);
  return n;
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export function logLevel(v: string): string {
  if (!LEVELS.includes(v)) throw new InvalidArgumentError(`'${v}' is not a log level (${LEVELS.join(', ')})`);
  return v;
}

export function logFormat(v: string): 'json' | 'pretty' {
  if (v !== 'json' && v !== 'pretty') throw new InvalidArgumentError(`'${v}' is not a log format (json or pretty)`);
  return v;
}
