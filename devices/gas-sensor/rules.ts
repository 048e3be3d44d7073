import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { healthEvent, lowBattery } from '../health.js';
import type { Normalized, RuleContext, RuleOutput, Rules } from '../types.js';

export const SettingsSchema = Type.Object(
  {
    warnLel: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 10, description: '%LEL at which gas.leak_warning is raised' }),
    alarmLel: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100,
      default: 25,
      description: '%LEL at which gas.leak is raised (and the valve shut)',
    }),
    hysteresisLel: Type.Number({
      minimum: 0,
      maximum: 20,
      default: 3,
      description: '%LEL below a threshold a reading must fall before its incident clears',
    }),
    valveReplyTimeoutSeconds: Type.Number({
      exclusiveMinimum: 0,
      maximum: 300,
      default: 10,
      description: 'how long a valve has to confirm it shut',
    }),
    lowBatteryPercent: Type.Number({
      minimum: 1,
      maximum: 90,
      default: 15,
      description: 'battery % below which device.low_battery is raised',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type Settings = Static<typeof SettingsSchema>;

export const OptionsSchema = Type.Object(
  {
    valve: Type.Boolean({ default: false, description: 'true when the device drives a shut-off valve the gateway may close' }),
    warnLel: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100, description: "this device's warning threshold, %LEL" })),
    alarmLel: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100, description: "this device's alarm threshold, %LEL" })),
  },
  { additionalProperties: false },
);
export type Options = Static<typeof OptionsSchema>;

export type Level = 'normal' | 'warn' | 'alarm';

/**
 * The level a reading puts the sensor at, given where it was: a threshold is crossed upwards at
 * its value, and downwards only `hysteresis` below it, so a reading hovering at a threshold
 * does not flap between levels.
 */
export function nextLevel(previous: Level, lel: number, warn: number, alarm: number, hysteresis: number): Level {
  if (lel >= alarm || (previous === 'alarm' && lel > alarm - hysteresis)) return 'alarm';
  if (lel >= warn || (previous !== 'normal' && lel > warn - hysteresis)) return 'warn';
  return 'normal';
}

export function createRules(settings: Settings): Rules {
  return (message: Normalized, ctx: RuleContext): RuleOutput[] => {
    const id = ctx.device.id;
    const options = ctx.options as Options;
    const out: RuleOutput[] = [];
    const warnKey = `gas.leak_warning:${id}`;
    const leakKey = `gas.leak:${id}`;
    if (message.type === 'reading') {
      const lel = message.fields.lel;
      if (typeof message.fields.battery === 'number')
        out.push(...lowBattery(message.fields.battery, settings.lowBatteryPercent, message.ts, ctx));
      if (typeof lel !== 'number') return out;
      const warn = options.warnLel ?? settings.warnLel;
      const alarm = options.alarmLel ?? settings.alarmLel;
      const previous = (ctx.state.level as Level | undefined) ?? 'normal';
      const level = nextLevel(previous, lel, warn, alarm, settings.hysteresisLel);
      ctx.state.level = level;
      const facts = { lel, gas: String(message.fields.gas ?? 'unknown') };
      if (previous === 'normal' && level !== 'normal') {
        out.push({
          action: 'raise',
          category: 'gas.leak_warning',
          correlationKey: warnKey,
          occurredAt: message.ts,
          facts: { ...facts, threshold: warn, peakLel: lel },
        });
      }
      if (previous !== 'alarm' && level === 'alarm') {
        ctx.state.peak = lel;
        out.push({
          action: 'raise',
          category: 'gas.leak',
          correlationKey: leakKey,
          occurredAt: message.ts,
          facts: { ...facts, threshold: alarm, peakLel: lel },
        });
        if (options.valve) {
          const commandId = randomUUID();
          out.push({
            action: 'send',
            command: 'cmd',
            payload: { id: commandId, cmd: 'valve_close', reason: 'gas.leak', ts: message.ts },
            expectReply: { id: commandId, timeoutMs: settings.valveReplyTimeoutSeconds * 1000, correlationKey: leakKey, fact: 'valveShut' },
          });
        }
      } else if (level === 'alarm' && lel >= ((ctx.state.peak as number | undefined) ?? 0) + 1) {
        // A rising leak is news for the centre; a steady one is not.
        ctx.state.peak = lel;
        out.push({ action: 'annotate', correlationKey: leakKey, facts: { peakLel: lel } });
      }
      if (previous === 'alarm' && level !== 'alarm') {
        out.push({ action: 'resolve', correlationKey: leakKey, occurredAt: message.ts, reason: `concentration down to ${lel} %LEL` });
      }
      if (previous !== 'normal' && level === 'normal') {
        out.push({ action: 'resolve', correlationKey: warnKey, occurredAt: message.ts, reason: `concentration down to ${lel} %LEL` });
      }
      return out;
    }
    if (message.type !== 'event') return out;
    if (message.event === 'valve_closed' || message.event === 'valve_opened') {
      out.push({ action: 'annotate', correlationKey: leakKey, facts: { valve: message.event === 'valve_closed' ? 'closed' : 'open' } });
    }
    out.push(...healthEvent(message, id, { detail: 'opened or removed', cleared: 'closed again' }));
    return out;
  };
}
