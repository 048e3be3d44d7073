import { describe, expect, it } from 'vitest';
import { IncidentManager } from '../incidents/manager.js';
import { createLogger } from '../../core/log.js';
import { Counters } from '../../core/counters.js';
import { canonicalCommand, signCommand } from '../../contracts/commands.js';
import { CommandHandler } from './commands.js';

const log = createLogger('silent');

describe('platform commands', () => {
  it('refuses every command when no command secret is configured', async () => {
    let seq = 0;
    const counters = new Counters();
    const handler = new CommandHandler({ incidents: new IncidentManager({ gatewayId: 'gw', nextSeq: () => ++seq }), log, counters });
    const body = { correlationId: 'c1', issuedAt: new Date().toISOString(), incidentId: '01M81NNWD58FJT67P00HPSJTH3' };
    const { reply } = await handler.handle(
      'ack',
      Buffer.from(JSON.stringify({ ...body, auth: signCommand('anything-at-all-123', 'ack', body) })),
    );
    expect(reply).toMatchObject({ ok: false, correlationId: 'c1', error: { code: 'commands_disabled' } });
    expect(counters.get('commands_total', { command: 'ack', result: 'commands_disabled' })).toBe(1);
  });

  it('signs a canonical string: name, then fields in a fixed order, absent ones empty', () => {
    const body = { correlationId: 'c9', issuedAt: '2026-11-22T12:00:00.000Z', incidentId: '01M81NNWD58FJT67P00HPSJTH3', assignee: 'wang' };
    expect(canonicalCommand('dispatch', body)).toBe('dispatch\nc9\n2026-11-22T12:00:00.000Z\n01M81NNWD58FJT67P00HPSJTH3\n\nwang\n');
    // Any change to a signed field breaks the signature.
    expect(signCommand('s3cret-s3cret-s3cret', 'dispatch', body)).not.toBe(
      signCommand('s3cret-s3cret-s3cret', 'dispatch', { ...body, assignee: 'li' }),
    );
  });
});
