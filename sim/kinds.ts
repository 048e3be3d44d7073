/** Every simulated device kind the scenario runner can play: one line each (the registry test checks each gateway kind has one). */
import { captureCameraSim } from './capture-camera.js';
import { droneSim } from './drone.js';
import { gasSensorSim } from './gas-sensor.js';
import { lpgReaderSim } from './lpg-reader.js';
import type { SimKind } from './sim-kind.js';
import { smokeAlarmSim } from './smoke-alarm.js';
import { waterLeakSim } from './water-leak.js';

export type { SimKind };

export const simKinds: Record<string, SimKind> = Object.fromEntries(
  [smokeAlarmSim, gasSensorSim, lpgReaderSim, droneSim, captureCameraSim, waterLeakSim].map((k) => [k.kind, k]),
);
