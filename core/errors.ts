/**
 * Coded errors, in the style of fastify's `lib/errors.js`: every error a user can meet has a
 * stable code (`GE_ERR_…`), a message made from its arguments and, where it answers an HTTP
 * request, a status. Callers decide on the code, never on the wording, and `docs/errors.md`
 * explains each one (a test keeps the two in step).
 */

interface ErrorDefinition {
  /** The message, from the error's arguments. */
  // biome-ignore lint/suspicious/noExplicitAny: each definition declares its own argument types
  message: (...args: any[]) => string;
  /** The HTTP status, for errors an API request can cause. */
  status?: number;
}

export const ERRORS = {
  GE_ERR_CONFIG_INVALID: {
    message: (source: string, problems: string[]) => `invalid config ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  },
  GE_ERR_LISTEN: { message: (what: string, where: string, cause: string) => `the ${what} cannot listen on ${where}: ${cause}` },
  GE_ERR_UNKNOWN_KIND: {
    status: 400,
    message: (kind: string, known: string[]) => `unknown device kind '${kind}' (known: ${known.join(', ')})`,
  },
  GE_ERR_DEVICE_EXISTS: { status: 409, message: (id: string) => `device ${id} exists already` },
  GE_ERR_DEVICE_INVALID: { status: 400, message: (problems: string[]) => problems.join('; ') },
  GE_ERR_DEVICE_NOT_FOUND: { status: 404, message: (id: string, what = 'device') => `no ${what} ${id}` },
  GE_ERR_DEVICE_IN_CONFIG: { status: 409, message: (id: string) => `device ${id} is in the config file: remove it there` },
  GE_ERR_DEVICE_TWICE: {
    message: (id: string, file: string) => `device ${id} is both in the config file and in ${file}: remove one`,
  },
  GE_ERR_PROVISIONED_INVALID: { message: (file: string, problem: string) => `${file}: ${problem}` },
  GE_ERR_UNKNOWN_CATEGORY: { message: (code: string) => `unknown incident category '${code}'` },
  GE_ERR_CATEGORY_TWICE: {
    message: (code: string, first: string, second: string) => `incident category '${code}' is declared by both ${first} and ${second}`,
  },
  GE_ERR_INCIDENT_NOT_FOUND: { status: 404, message: (id: string) => `no incident ${id}` },
  GE_ERR_INVALID_TRANSITION: { status: 409, message: (detail: string) => detail },
  GE_ERR_BAD_REQUEST: { status: 400, message: (detail: string) => detail },
  GE_ERR_CAMERA_NOT_FOUND: { status: 404, message: (id: string) => `no camera ${id}` },
  GE_ERR_NOT_CONFIGURED: { status: 404, message: (section: string) => `${section} is not configured on this gateway` },
  GE_ERR_REGISTRY_INVALID: {
    message: (what: string, problems: string[]) => (problems.length ? `${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}` : what),
  },
  GE_ERR_MODEL_MISSING: { message: (what: string) => what },
  GE_ERR_SPOOL_UNREADABLE: { message: (dir: string, cause: string) => `cannot read the spool folder ${dir}: ${cause}` },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;
type ArgsOf<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]['message']>;

export class GridedgeError extends Error {
  override readonly name = 'GridedgeError';
  /** The HTTP status this error answers with, where one applies. */
  readonly statusCode?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    const status = (ERRORS[code] as ErrorDefinition).status;
    if (status !== undefined) this.statusCode = status;
  }
}

/** Makes the error `code` with its message from `args`: `gridedgeError('GE_ERR_DEVICE_EXISTS', id)`. */
export function gridedgeError<C extends ErrorCode>(code: C, ...args: ArgsOf<C>): GridedgeError {
  const make = ERRORS[code].message as (...a: ArgsOf<C>) => string;
  return new GridedgeError(code, make(...args));
}

/** Whether `err` is a gridedge error, of `code` when one is given. */
export function isGridedgeError(err: unknown, code?: ErrorCode): err is GridedgeError {
  return err instanceof GridedgeError && (code === undefined || err.code === code);
}
