/**
 * The registries hold together (as zigbee-herdsman-converters' index test checks every device
 * file): every device kind has its folder, categories, docs page, examples and simulator; every
 * category has one owner; every detector folder is registered and declares its settings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { compile, configAjv } from '../../core/schema.js';
import { DETECTOR_NAMES, detectorPlugins, detectSchema } from '../../detectors/registry.js';
import { deviceKinds } from '../../devices/registry.js';
import { CATEGORIES, GATEWAY_CATEGORIES, combineCategories } from '../../gateway/incidents/categories.js';
import { simKinds } from '../../sim/kinds.js';
import { docExamples } from '../helpers/kind-contract.js';

const root = new URL('../../', import.meta.url);
const folders = (dir: string) =>
  readdirSync(new URL(dir, root), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);

describe('the device kind registry', () => {
  it('registers every kind folder (one with an index.ts), and each kind lives in the folder of its name', () => {
    const kindFolders = folders('devices/').filter((f) => existsSync(new URL(`devices/${f}/index.ts`, root)));
    expect(kindFolders.sort()).toEqual([...deviceKinds.keys()].sort());
  });

  for (const kind of deviceKinds.values()) {
    describe(kind.kind, () => {
      const page = new URL(`devices/${kind.kind}/README.md`, root);

      it('has a docs page with examples, naming every category it raises', () => {
        const text = readFileSync(page, 'utf8');
        expect(docExamples(text).length).toBeGreaterThan(0);
        for (const code of Object.keys(kind.categories)) expect(text, `${code} on its page`).toContain(code);
      });

      it('declares at least one category of its own, none of the gateway’s', () => {
        expect(Object.keys(kind.categories).length).toBeGreaterThan(0);
        for (const code of Object.keys(kind.categories)) expect(GATEWAY_CATEGORIES[code]).toBeUndefined();
      });

      it('has a simulator the scenario runner can play', () => {
        expect(simKinds[kind.kind]?.kind).toBe(kind.kind);
      });

      it('takes empty settings (its defaults) and its example options', () => {
        if (kind.settingsSchema) expect(Value.Check(kind.settingsSchema, Value.Default(kind.settingsSchema, {}))).toBe(true);
        if (kind.optionsSchema) {
          const check = compile(configAjv, kind.optionsSchema);
          expect(check(structuredClone(kind.exampleOptions ?? {})), JSON.stringify(check.errors)).toBe(true);
        }
      });

      it('names each topic with the device id in it, so the broker confines the device to its own', () => {
        for (const pattern of [...Object.values(kind.publishes), ...Object.values(kind.commands)]) expect(pattern).toContain('{id}');
      });
    });
  }

  it('has no simulator for a kind that does not exist', () => {
    expect(Object.keys(simKinds).filter((k) => !deviceKinds.has(k))).toEqual([]);
  });
});

describe('the incident categories', () => {
  it('has each code from one owner, the gateway keeping only device.*', () => {
    expect(Object.keys(GATEWAY_CATEGORIES).every((c) => c.startsWith('device.'))).toBe(true);
    for (const kind of deviceKinds.values())
      for (const code of Object.keys(kind.categories)) expect(CATEGORIES[code]).toBe(kind.categories[code]);
    expect(() =>
      combineCategories([
        { owner: 'kind a', categories: { 'x.y': GATEWAY_CATEGORIES['device.fault']! } },
        { owner: 'kind b', categories: { 'x.y': GATEWAY_CATEGORIES['device.fault']! } },
      ]),
    ).toThrow("incident category 'x.y' is declared by both kind a and kind b");
  });
});

describe('the detector registry', () => {
  it('registers every detector folder (one with an index.ts) under its folder name', () => {
    const detectorFolders = folders('detectors/').filter((f) => existsSync(new URL(`detectors/${f}/index.ts`, root)));
    expect(detectorFolders.sort()).toEqual([...DETECTOR_NAMES].sort());
  });

  it('builds cameras[].detect from each detector’s own settings', () => {
    const check = compile(configAjv, detectSchema(true));
    const every = Object.fromEntries(DETECTOR_NAMES.map((n) => [n, n === 'yolo' ? { model: 'm.onnx', labels: ['fire'] } : {}]));
    expect(check(every), JSON.stringify(check.errors)).toBe(true);
    expect(check({ face: { minScore: 2 } })).toBe(false);
    expect(check({ gait: {} })).toBe(false);
    for (const [name, plugin] of detectorPlugins) {
      expect(plugin.name).toBe(name);
      expect(plugin.description.length).toBeGreaterThan(10);
    }
  });
});
