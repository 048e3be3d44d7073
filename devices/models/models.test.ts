/**
 * The device models' contract: each model's documented examples decode to what its file says,
 * every message it makes is one its kind's own codec accepts (so the kind's rules run on it),
 * and no input at all — random bytes, random JSON — makes a model throw anything but a
 * ModelDecodeError (a bad frame is refused, never a crash).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceKinds } from '../registry.js';
import { MODELS } from './registry.js';
import { type KindMessage, ModelDecodeError, numeric } from './types.js';
import { obscurationToDbPerMetre } from './milesight-gs524n.js';

const runs = Number(process.env.GRIDEDGE_FUZZ_RUNS ?? 500);
const ctx = { device: { id: 'dev-1', kind: 'x', grid: '110105001002000' }, receivedAt: Date.now() };

describe.each(MODELS.map((m) => [m.model, m] as const))('device model %s', (_name, model) => {
  const kind = deviceKinds.get(model.kind)!;

  it('maps onto a kind that exists, and has examples', () => {
    expect(kind, model.kind).toBeDefined();
    expect(model.examples.length).toBeGreaterThan(0);
  });

  it("decodes its examples to what it documents, each accepted by the kind's codec", () => {
    for (const ex of model.examples) {
      const out = model.decode(ex.input);
      expect(out).toEqual(ex.expect);
      for (const m of out) {
        expect(kind.publishes[m.channel], `${model.kind} has no channel ${m.channel}`).toBeDefined();
        const r = kind.decode(m.channel, Buffer.from(JSON.stringify(m.payload)), { ...ctx, device: { ...ctx.device, kind: model.kind } });
        expect(r.ok, JSON.stringify(r)).toBe(true);
      }
    }
  });

  it('refuses anything else with a ModelDecodeError, and never makes a message its kind refuses', () => {
    // Any JSON, weighted towards what coercion gets wrong: an object whose own toString is not a
    // function (Number() of it throws a TypeError), null, booleans, empty strings and arrays.
    const hostile = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom<unknown>(
        JSON.parse('{"toString":false}'),
        JSON.parse('{"valueOf":1,"toString":[]}'),
        null,
        true,
        false,
        '',
        [],
        ' ',
        '1e400',
      ),
    );
    const registers = fc.record({
      registers: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 16 }),
      channel: fc.integer({ min: -1, max: 10 }),
    });
    const input =
      model.source === 'modbus'
        ? registers
        : model.source === 'chirpstack'
          ? fc.uint8Array({ maxLength: 64 }).map((b) => ({ bytes: Buffer.from(b), fPort: 85 }))
          : fc
              .oneof(
                fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
                // The keys the models read, with any values at all.
                fc.record(
                  {
                    smoke: hostile,
                    gas: hostile,
                    battery: hostile,
                    battery_low: hostile,
                    tamper: hostile,
                    // OneNET's data points, CTWing's reports (properties, or a profile's serviceData).
                    ds_id: fc.constantFrom('3200_0_5500', '3_0_9', '3300_0_5700', '3_0_1'),
                    value: hostile,
                    payload: fc.oneof(
                      hostile,
                      fc.record(
                        {
                          smoke_state: hostile,
                          battery_value: hostile,
                          APPdata: hostile,
                          serviceData: fc.oneof(hostile, fc.record({ smoke_state: hostile, battery_value: hostile }, { requiredKeys: [] })),
                        },
                        { requiredKeys: [] },
                      ),
                    ),
                  },
                  { requiredKeys: [] },
                ),
              )
              .map((json) => ({ json: json as Record<string, unknown> }));
    fc.assert(
      fc.property(input, (i) => {
        let out: KindMessage[];
        try {
          out = model.decode(i);
        } catch (err) {
          expect(err).toBeInstanceOf(ModelDecodeError);
          return;
        }
        for (const m of out) {
          const r = kind.decode(m.channel, Buffer.from(JSON.stringify(m.payload)), { ...ctx, device: { ...ctx.device, kind: model.kind } });
          expect(r.ok, `${JSON.stringify(i)} → ${JSON.stringify(m)}: ${JSON.stringify(r)}`).toBe(true);
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('downlinks', () => {
  it("sends each source's kind of downlink, and nothing for a command the model has none for", () => {
    for (const model of MODELS) {
      if (!model.encode) continue;
      const down = model.encode({ id: 'c1', cmd: 'valve_close', reason: 'gas.leak' });
      expect(down, model.model).toBeDefined();
      if (model.source === 'chirpstack') {
        // LoRaWAN application ports are 1..223 (LoRaWAN 1.0.4 §4.3.2); a frame is at most 242 bytes at DR5.
        expect(down!.fPort).toBeGreaterThanOrEqual(1);
        expect(down!.fPort).toBeLessThanOrEqual(223);
        expect(down!.bytes!.length).toBeGreaterThan(0);
        expect(down!.bytes!.length).toBeLessThanOrEqual(242);
      }
      if (model.source === 'modbus') expect(down!.coil).toBeDefined();
      if (model.source === 'zigbee2mqtt') expect(down!.json).toBeDefined();
      expect(model.encode({ id: 'c2', cmd: 'reboot' }), model.model).toBeUndefined();
    }
  });

  it("closes a GS101's valve with the frame Milesight's encoder writes for valve_status off", () => {
    const gs101 = MODELS.find((m) => m.model === 'milesight-gs101')!;
    // GS101_Encoder.js setValveControl(0): 0x06, 0x00, status, 0xff; Milesight devices take port 85.
    expect(gs101.encode!({ cmd: 'valve_close', id: 'x' })).toEqual({ fPort: 85, bytes: Buffer.from('060000ff', 'hex') });
  });
});

describe('numeric', () => {
  it('takes JSON numbers and decimal strings, and nothing coercion would invent', () => {
    expect(numeric(76)).toBe(76);
    expect(numeric(' 4.5 ')).toBe(4.5);
    expect(numeric('-1e2')).toBe(-100);
    for (const v of [
      null,
      true,
      false,
      '',
      ' ',
      [],
      [5],
      '0x10',
      '1e400',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      JSON.parse('{"toString":false}'),
    ])
      expect(numeric(v), JSON.stringify(v)).toBeUndefined();
  });
});

describe('units', () => {
  it("converts a smoke detector's obscuration (%/m) to optical density (dB/m)", () => {
    expect(obscurationToDbPerMetre(0)).toBe(0);
    expect(obscurationToDbPerMetre(10)).toBeCloseTo(0.458, 3);
    expect(obscurationToDbPerMetre(50)).toBeCloseTo(3.01, 2);
    expect(obscurationToDbPerMetre(100)).toBe(20);
  });
});
