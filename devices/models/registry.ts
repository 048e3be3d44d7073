/** Every device model, one line each (the zigbee2mqtt way: a product is a file, and a line here). */
import { heimanHs1cg } from './heiman-hs1cg.js';
import { heimanHs1sa } from './heiman-hs1sa.js';
import { milesightGs101 } from './milesight-gs101.js';
import { milesightGs524n } from './milesight-gs524n.js';
import { aqaraWaterLeak } from './aqara-water-leak.js';
import { ctwingSmoke } from './ctwing-smoke.js';
import { gasController8ch } from './gas-controller-8ch.js';
import { ipsoGasOnenet } from './ipso-gas-onenet.js';
import { ipsoSmokeOnenet } from './ipso-smoke-onenet.js';
import type { DeviceModel } from './types.js';

export const MODELS: readonly DeviceModel[] = [
  heimanHs1sa,
  heimanHs1cg,
  milesightGs524n,
  milesightGs101,
  ipsoSmokeOnenet,
  ipsoGasOnenet,
  gasController8ch,
  aqaraWaterLeak,
  ctwingSmoke,
];

export const modelsByName: ReadonlyMap<string, DeviceModel> = new Map(MODELS.map((m) => [m.model, m]));

export function modelNames(): string[] {
  return MODELS.map((m) => m.model);
}
