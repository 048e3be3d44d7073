/**
 * Every model the detectors use, where it comes from, and a check that it loads: for
 * `gridedge models` (run at install to convert what needs converting) and `gridedge doctor`.
 * The list is the detector registry's: each plugin declares its own model files.
 */
import { type DetectorName, detectorPlugins } from './registry.js';

export interface ModelStatus {
  name: string;
  detector: DetectorName;
  source: string;
  file?: string;
  ok: boolean;
  error?: string;
  loadMs?: number;
}

/** Finds (converting if needed) and loads each model; never throws, reports instead. */
export async function checkModels(log: (line: string) => void = () => {}): Promise<ModelStatus[]> {
  const { session } = await import('./models.js');
  const out: ModelStatus[] = [];
  for (const [detector, plugin] of detectorPlugins) {
    for (const m of plugin.models) {
      const status: ModelStatus = { name: m.name, detector, source: m.source, ok: false };
      try {
        status.file = await m.file(log);
        const t0 = performance.now();
        await session(status.file);
        status.loadMs = Math.round(performance.now() - t0);
        status.ok = true;
      } catch (err) {
        status.error = (err as Error).message;
      }
      out.push(status);
    }
  }
  return out;
}
