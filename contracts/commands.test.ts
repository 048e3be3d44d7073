import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalCommand, signCommand } from './commands.js';

const VECTOR = {
  secret: 'the-command-secret-0123',
  name: 'dispatch',
  command: {
    correlationId: 'c-42',
    issuedAt: '2026-11-22T12:00:00.000Z',
    incidentId: '01M81NNWD58FJT67P00HPSJTH3',
    by: 'operator-7',
    assignee: '网格员 Wang',
    note: '100% done: 烟雾已散',
  },
  auth: 'e2ca3635bfa74abfca03152e50c037dc9a807f184721f444433b607f05dc06e2',
};

describe('the command signature', () => {
  it('signs the published test vector (README), a % and Chinese in the note included', () => {
    expect(canonicalCommand(VECTOR.name, VECTOR.command)).toBe(
      'dispatch\nc-42\n2026-11-22T12:00:00.000Z\n01M81NNWD58FJT67P00HPSJTH3\noperator-7\n网格员 Wang\n100% done: 烟雾已散',
    );
    expect(signCommand(VECTOR.secret, VECTOR.name, VECTOR.command)).toBe(VECTOR.auth);
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(VECTOR.auth);
  });

  it('gives the same signature by the README recipe, with printf and openssl', () => {
    const c = VECTOR.command;
    const script = `printf '%s\\n%s\\n%s\\n%s\\n%s\\n%s\\n%s' "$@" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1`;
    const out = execFileSync(
      'bash',
      ['-c', script, 'sign', VECTOR.name, c.correlationId, c.issuedAt, c.incidentId, c.by, c.assignee, c.note],
      {
        env: { ...process.env, SECRET: VECTOR.secret },
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe(VECTOR.auth);
  });
});
