/** Every device kind the gateway knows: one line each. The config, broker ACLs and pipeline read this. */
import type { DeviceKind } from './types.js';
import { captureCamera } from './capture-camera/index.js';
import { drone } from './drone/index.js';
import { gasSensor } from './gas-sensor/index.js';
import { lpgReader } from './lpg-reader/index.js';
import { smokeAlarm } from './smoke-alarm/index.js';
import { waterLeak } from './water-leak/index.js';

export const deviceKinds: ReadonlyMap<string, DeviceKind> = new Map(
  [smokeAlarm, gasSensor, lpgReader, drone, captureCamera, waterLeak].map((k) => [k.kind, k]),
);

export function kindNames(): string[] {
  return [...deviceKinds.keys()];
}
