/**
 * Which values are secrets, said once. Log redaction (pino), the config the API shows and every
 * URL written to a log or an error all derive from this list, so a new secret key is added here
 * and nowhere else.
 */

/**
 * Object keys whose values are secrets wherever they sit: config sections, log fields, API bodies.
 * `secretHash`/`passwordHash` are scrypt hashes (still worth keeping private), `redis` is the HA
 * pair's URL (it may carry a password), `auth` a command's signature, `sig` an evidence link's,
 * `secretAccessKey` an S3 sink's, `apiKey`/`masterKey` a platform product's key, `appSecret` a platform
 * application's.
 */
export const SECRET_KEYS = [
  'secret',
  'secretHash',
  'password',
  'passwordHash',
  'token',
  'commandSecret',
  'linkSecret',
  'redis',
  'auth',
  'sig',
  'secretAccessKey',
  'apiKey',
  'appSecret',
  'masterKey',
] as const;

const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_SET.has(key);
}

export const MASK = '***';

/** Paths for pino's redaction: each secret key at the top, one and two levels down, and the Authorization header. */
export function redactionPaths(): string[] {
  return [
    ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
    'req.headers.authorization',
    'config.devices[*].secret',
    'tokens[*].token',
    '*.tokens[*].token',
  ];
}

/** A copy with every secret key's value replaced by `***`, at any depth (the config as the API shows it). */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretKey(k) && v !== undefined ? MASK : maskSecrets(v)]));
  }
  return value;
}

/**
 * A URL fit for a log line or an error: its user name and password (`//user:pass@host`) become
 * `//***@host`; the rest is kept as written, so the reader still sees which host was meant.
 */
const URL_CREDENTIALS = String.raw`//[^@/?#\s]*@`;
const FIRST_CREDENTIALS = new RegExp(URL_CREDENTIALS);
const ALL_CREDENTIALS = new RegExp(URL_CREDENTIALS, 'g');

export function maskUrl(url: string): string {
  return url.replace(FIRST_CREDENTIALS, `//${MASK}@`);
}

/** Text that may quote URLs (a program's error output): the credentials of every one of them masked. */
export function maskUrlsInText(text: string): string {
  return text.replace(ALL_CREDENTIALS, `//${MASK}@`);
}

const KEY_VALUE = new RegExp(`((?:^|[\\s{,"'])(?:${SECRET_KEYS.join('|')})["']?\\s*[:=]\\s*)([^\\s,}]+.*)$`, 'gm');

/**
 * Text that may quote a config file (a YAML parser's error shows the offending line): the value
 * after any secret key (`password: …`, `"token": …`) becomes `***`.
 */
export function maskSecretsInText(text: string): string {
  return text.replace(KEY_VALUE, `$1${MASK}`);
}
