/**
 * One place for JSON Schema validation (Ajv) and for turning its errors into sentences a field
 * engineer can act on: the key path, the value found, and what was expected.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { isSecretKey, MASK } from './secrets.js';

/** For device payloads: first error only, no defaults, fastest path. */
export const payloadAjv = new Ajv({ allErrors: false, verbose: true, strict: true });
/** For config files: every error at once, defaults filled in. */
export const configAjv = new Ajv({ allErrors: true, verbose: true, strict: true, useDefaults: true });

export interface Validator<T> {
  (value: unknown): value is T;
  errors?: ErrorObject[] | null;
}

export function compile<S extends TSchema>(ajv: Ajv, schema: S): Validator<Static<S>> {
  return ajv.compile(schema) as ValidateFunction<Static<S>>;
}

/** `/devices/2/kind` → `devices[2].kind` */
export function keyPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function expected(schema: unknown): string {
  const s = schema as { description?: string; type?: string } | undefined;
  return s?.description ?? s?.type ?? 'a valid value';
}

/** Whether the value at this instance path is a secret (its own key, or inside one: `tokens[0].token`, `upstream.password`). */
function isSecretPath(instancePath: string): boolean {
  return instancePath.split('/').some((part) => isSecretKey(part.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/** One readable line per Ajv error. A secret's value is never shown: it would end up in logs and terminals. */
export function describeError(e: ErrorObject): string {
  const at = keyPath(e.instancePath);
  const show = isSecretPath(e.instancePath) ? () => `${MASK} (a secret, not shown)` : showValue;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const key = String(p.missingProperty);
      const sub = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties?.[key];
      return `${keyPath(e.instancePath, key)}: missing (expected ${expected(sub)})`;
    }
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = closest(key, known);
      return (
        `${keyPath(e.instancePath, key)}: unknown key` +
        (hint ? ` (did you mean '${hint}'?)` : known.length ? ` (known keys: ${known.join(', ')})` : '')
      );
    }
    case 'enum':
      return `${at}: ${show(e.data)} is not allowed (expected one of: ${(p.allowedValues as unknown[]).map(String).join(', ')})`;
    case 'const':
      return `${at}: ${show(e.data)} is not allowed (expected ${showValue(p.allowedValue)})`;
    case 'type':
      return `${at}: ${show(e.data)} is not ${e.data === null ? 'allowed' : 'of the right type'} (expected ${expected(e.parentSchema)})`;
    case 'pattern':
    case 'format':
    case 'minLength':
    case 'maxLength':
      return `${at}: ${show(e.data)} is not valid (expected ${expected(e.parentSchema)})`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${at}: ${show(e.data)} is out of range (${e.message ?? ''}; expected ${expected(e.parentSchema)})`;
    default:
      return `${at}: ${show(e.data)} ${e.message ?? 'is not valid'}`;
  }
}

/** Ajv reports an error for every branch of an anyOf/union; keep the ones worth reading. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  if (!errors || errors.length === 0) return [];
  const useful = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'if');
  const lines = (useful.length ? useful : errors).map(describeError);
  return [...new Set(lines)];
}

/**
 * A string from a fixed list, as JSON Schema `enum`: Ajv then reports one error listing the
 * allowed values, where a TypeBox union of literals would report one error per literal.
 */
export function StringEnum<T extends string>(values: readonly T[], options: { description?: string; default?: T } = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** A daily window of local time, `HH:MM-HH:MM`, which may wrap past midnight (22:00-06:00). */
export function LocalHours(description: string) {
  return Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-3]):[0-5]\\d$', description });
}
