/**
 * Every detector the gateway can run on camera frames: one line each. Config validation builds
 * `cameras[].detect` from their settings schemas, the worker threads build detectors through
 * `makeDetector`, and `gridedge models`/`doctor` list their model files.
 */
import { type TOptional, Type } from '@sinclair/typebox';
import { face } from './face/index.js';
import { fire } from './fire/index.js';
import { object } from './object/index.js';
import { type Line, LineSchema, placeProblems } from './pipeline/behaviours.js';
import { type Zone, ZoneSchema } from './pipeline/zones.js';
import { plate } from './plate/index.js';
import type { DetectorPlugin, PrepareContext } from './plugin.js';
import type { Detector } from './types.js';
import { yolo } from './yolo/index.js';

const PLUGINS = [face, plate, object, fire, yolo] as const;

export type DetectorName = (typeof PLUGINS)[number]['name'];
export const DETECTOR_NAMES: readonly DetectorName[] = PLUGINS.map((p) => p.name);
export const detectorPlugins: ReadonlyMap<DetectorName, DetectorPlugin> = new Map(PLUGINS.map((p) => [p.name, p as DetectorPlugin]));

/** The detectors a camera runs, each with its settings (as validated against its plugin's schema). */
export type DetectorSet = Partial<Record<DetectorName, Record<string, unknown>>>;

function plugin(name: string): DetectorPlugin {
  const p = detectorPlugins.get(name as DetectorName);
  if (!p) throw new Error(`unknown detector '${name}' (known: ${DETECTOR_NAMES.join(', ')})`);
  return p;
}

/** Builds one detector from its settings (in the worker thread that will run it). */
export function makeDetector(name: DetectorName, settings: Record<string, unknown> = {}): Promise<Detector> {
  return plugin(name).create(settings as never);
}

/**
 * `cameras[].detect`: each detector's own settings, the smallest object kept and the zones.
 * `defaults: false` for use inside a union, where the validator does not fill defaults.
 */
export function detectSchema(defaults: boolean) {
  const detectors = Object.fromEntries(PLUGINS.map((p) => [p.name, Type.Optional(p.settingsSchema)])) as {
    [P in (typeof PLUGINS)[number] as P['name']]: TOptional<P['settingsSchema']>;
  };
  return Type.Object(
    {
      ...detectors,
      minSize: Type.Integer({
        minimum: 1,
        maximum: 4096,
        ...(defaults ? { default: 16 } : {}),
        description: 'smallest object side in frame pixels (default 16); smaller ones are ignored',
      }),
      zones: Type.Array(ZoneSchema, { ...(defaults ? { default: [] } : {}), maxItems: 32 }),
      lines: Type.Optional(
        Type.Array(LineSchema, {
          maxItems: 16,
          description: 'lines counted by direction (a gate), optionally raising person.line_crossing',
        }),
      ),
    },
    { additionalProperties: false, description: 'on-device detectors for this camera: give each one to run ({} for its defaults)' },
  );
}

/** The detectors named in a camera's `detect` section, with their settings. */
export function detectorSet(detect: Record<string, unknown>): DetectorSet {
  const set: DetectorSet = {};
  for (const n of DETECTOR_NAMES) if (detect[n]) set[n] = detect[n] as Record<string, unknown>;
  return set;
}

/** Each named detector's own checks (files, labels), and the zones' and lines'; `at` is the key path of the `detect` section. */
export function detectProblems(detect: Record<string, unknown>, ctx: PrepareContext): string[] {
  const set = detectorSet(detect);
  const named = Object.keys(set) as DetectorName[];
  const places = placeProblems((detect.zones ?? []) as Zone[], (detect.lines ?? []) as Line[], ctx.at);
  if (!named.length) return [...places, `${ctx.at}: name at least one detector (${DETECTOR_NAMES.join(', ')}), e.g. object: {}`];
  return [...places, ...named.flatMap((n) => plugin(n).prepare?.(set[n] as never, { ...ctx, at: `${ctx.at}.${n}` }) ?? [])];
}
