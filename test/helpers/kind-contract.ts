/**
 * One contract every device kind keeps, run against each (as MQTT.js runs one store suite against
 * every store): the examples on its docs page decode and raise exactly what the page says, a
 * battery of hostile payloads is refused on every channel without a throw, its rules raise only
 * categories someone declared, and what its simulator sends decodes. It needs no broker, so every
 * kind gets fast unit coverage besides its end-to-end runs.
 */
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { expect, it } from 'vitest';
import type { DeviceInfo, DeviceKind, KindContext, Normalized, RejectReason, Rules } from '../../devices/types.js';
import { GATEWAY_CATEGORIES } from '../../gateway/incidents/categories.js';
import { simKinds } from '../../sim/kinds.js';

export interface DocExample {
  topic: string;
  payload: string;
  /** Categories the example raises, as the page says (`raises=a,b`); none when it says nothing. */
  raises: string[];
  /** Where the block starts on the page (1-based line). */
  line: number;
}

/** Blocks fenced as ```json topic=… [raises=…]: one JSON message per line (or the whole block as one). */
export function docExamples(markdown: string): DocExample[] {
  const out: DocExample[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```json\s+(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const attrs = Object.fromEntries([...m[1]!.matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1]!, a[2]!]));
    const end = lines.indexOf('```', i + 1);
    const body = lines.slice(i + 1, end);
    i = end;
    if (!attrs.topic) continue;
    const raises = attrs.raises ? attrs.raises.split(',') : [];
    const whole = body.join('\n');
    const payloads = isJson(whole) ? [whole] : body.filter((l) => l.trim() !== '');
    for (const payload of payloads) out.push({ topic: attrs.topic, payload, raises, line: i - body.length });
  }
  return out;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const DEEP = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;

/** Payloads no channel of any kind may accept. */
export const HOSTILE: ReadonlyArray<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['binary', Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x80])],
  ['truncated JSON', Buffer.from('{"ts": 17953526')],
  ['null', Buffer.from('null')],
  ['true', Buffer.from('true')],
  ['a number', Buffer.from('42')],
  ['a word', Buffer.from('"alarm"')],
  ['an array', Buffer.from('[{"event":"alarm"}]')],
  ['wrong types', Buffer.from('{"ts":"yesterday","battery":"full","event":7,"state":true,"tagId":[]}')],
  ['prototype pollution', Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')],
  ['deep nesting', Buffer.from(DEEP)],
  ['4 MiB', Buffer.from(`{"x":"${'A'.repeat(4 * 1024 * 1024)}"}`)],
  ['UTF-16', Buffer.from('{"event":"alarm"}', 'utf16le')],
];

const REASONS: readonly RejectReason[] = ['malformed_json', 'schema', 'unknown_channel', 'too_large', 'codec_error'];

/** A gateway context for starting a kind alone: nothing to authenticate, nowhere to ingest. */
const noGateway: KindContext = {
  baseDir: process.cwd(),
  timezone: 'Asia/Shanghai',
  authenticate: async () => undefined,
  ingest: () => Promise.reject(new Error('no gateway in the kinds contract suite')),
  storeEvidence: async () => '0'.repeat(64),
  digestHA1: () => undefined,
  reject: () => undefined,
  signedOff: () => undefined,
  log: { info: () => undefined, warn: () => undefined },
};

const RECEIVED_AT = 1_795_352_625_000;

function channelOf(kind: DeviceKind, topic: string, id: string): string | undefined {
  return Object.entries(kind.publishes).find(([, pattern]) => pattern.replaceAll('{id}', id) === topic)?.[0];
}

function raised(rules: Rules, messages: Normalized[], device: DeviceInfo, options: Record<string, unknown>): string[] {
  const state = {};
  const out = new Set<string>();
  for (const m of messages) for (const o of rules(m, { device, options, state })) if (o.action === 'raise') out.add(o.category);
  return [...out].sort();
}

/** Registers the contract's tests for one kind. `docs` is its page (devices/<kind>/README.md). */
export function kindContract(kind: DeviceKind, docs: URL): void {
  const device: DeviceInfo = { id: 'contract-1', kind: kind.kind, grid: '110105001002001' };
  const settings = kind.settingsSchema ? (Value.Default(kind.settingsSchema, {}) as Record<string, unknown>) : {};
  const options = structuredClone(kind.exampleOptions ?? {});
  const declared = new Set([...Object.keys(kind.categories), ...Object.keys(GATEWAY_CATEGORIES)]);
  const examples = docExamples(readFileSync(docs, 'utf8'));
  const decode = (topic: string, payload: Buffer) => {
    const channel = channelOf(kind, topic.replaceAll('{id}', device.id), device.id);
    if (!channel) throw new Error(`${topic} is not a topic kind ${kind.kind} publishes (${Object.values(kind.publishes).join(', ')})`);
    return kind.decode(channel, payload, { device, receivedAt: RECEIVED_AT });
  };

  it('decodes every example on its docs page, and each raises what the page says', () => {
    expect(examples.length).toBeGreaterThan(0);
    const rules = kind.start(settings, noGateway).rules;
    for (const e of examples) {
      const where = `${docs.pathname.split('/').slice(-2).join('/')}:${e.line} ${e.topic} ${e.payload.slice(0, 80)}`;
      const result = decode(e.topic, Buffer.from(e.payload));
      expect(result.ok ? 'decoded' : `refused (${result.reason}: ${result.detail})`, where).toBe('decoded');
      if (!result.ok) continue;
      expect(raised(rules, result.messages, device, structuredClone(options)), where).toEqual([...e.raises].sort());
    }
  });

  it('gives at least one example for every topic it publishes on', () => {
    const shown = new Set(examples.map((e) => e.topic));
    expect(Object.values(kind.publishes).filter((t) => !shown.has(t))).toEqual([]);
  });

  it('refuses the hostile payloads on every channel, with a reason, and never throws', () => {
    for (const channel of Object.keys(kind.publishes)) {
      for (const [name, payload] of HOSTILE) {
        const result = kind.decode(channel, payload, { device, receivedAt: RECEIVED_AT });
        expect(result.ok, `${channel}: ${name}`).toBe(false);
        if (!result.ok) expect(REASONS, `${channel}: ${name}`).toContain(result.reason);
      }
      expect(kind.decode(`not-${channel}`, Buffer.from('{}'), { device, receivedAt: RECEIVED_AT })).toMatchObject({ ok: false });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('declares every category it raises, each with its severity, deadlines and lane', () => {
    for (const [code, c] of Object.entries(kind.categories)) {
      expect(code).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
      expect(c.deadlineMinutes).toBeGreaterThan(0);
      expect(c.ackWithinMinutes).toBeGreaterThan(0);
      expect(c.lane).toBeGreaterThanOrEqual(0);
      expect(c.lane).toBeLessThanOrEqual(9);
      expect(c.description.length).toBeGreaterThan(5);
    }
    for (const e of examples) for (const c of e.raises) expect(declared, `${c} (raised by an example)`).toContain(c);
  });

  it('decodes whatever its simulator sends, for its routine reading and every action', async () => {
    const sim = simKinds[kind.kind];
    expect(sim, `a simulator for ${kind.kind} in sim/kinds.ts`).toBeDefined();
    if (!sim) return;
    const sent: Array<{ topic: string; payload: Buffer; action: string }> = [];
    let action = 'reading';
    const d = sim.create('mqtt://127.0.0.1:9', device.id, 'contract-secret', options);
    d.recordTo((topic, payload) => sent.push({ topic, payload, action }));
    await sim.reading(d);
    for (const [name, act] of Object.entries(sim.actions)) {
      if (name === 'drop' || name === 'garbage') continue; // faults: meant to be refused or to cut the link
      action = name;
      await act(d, { steps: 1 });
    }
    expect(new Set(sent.map((s) => s.action))).toEqual(
      new Set(['reading', ...Object.keys(sim.actions).filter((n) => n !== 'drop' && n !== 'garbage')]),
    );
    const rules = kind.start(settings, noGateway).rules;
    for (const s of sent) {
      const result = decode(s.topic, s.payload);
      const where = `${s.action}: ${s.topic} ${s.payload.toString().slice(0, 80)}`;
      expect(result.ok ? 'decoded' : `refused (${result.reason}: ${result.detail})`, where).toBe('decoded');
      if (result.ok) for (const c of raised(rules, result.messages, device, structuredClone(options))) expect(declared, where).toContain(c);
    }
  });
}
