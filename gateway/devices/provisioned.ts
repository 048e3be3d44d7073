/**
 * Devices provisioned on site with `gridedge devices add`, kept beside the config in
 * `<dataDir>/devices.json` with hashed secrets. They join the config file's devices at start-up.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { writeFileDurably } from '../fsync.js';
import { compile, configAjv, describeErrors } from '../schema.js';
import { GridCode, ID_PATTERN } from '../config/schema.js';
import { HASH_PATTERN } from './credentials.js';

export const ProvisionedSchema = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN }),
    kind: Type.String({ minLength: 1 }),
    secretHash: Type.String({ pattern: HASH_PATTERN }),
    /** HA1 = MD5(id:realm:secret) for kinds whose devices sign in with HTTP Digest: usable for that realm only. */
    digest: Type.Optional(Type.Object({ realm: Type.String({ minLength: 1 }), ha1: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false })),
    grid: Type.Optional(GridCode),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    location: Type.Optional(Type.Object({ lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) }, { additionalProperties: false })),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    heartbeatSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    addedAt: Type.String(),
  },
  { additionalProperties: false },
);
export type ProvisionedDevice = Static<typeof ProvisionedSchema>;

const validate = compile(configAjv, Type.Array(ProvisionedSchema));

export function provisionedFile(dataDir: string): string {
  return path.join(dataDir, 'devices.json');
}

export function loadProvisioned(dataDir: string): ProvisionedDevice[] {
  const file = provisionedFile(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (!validate(list)) throw new Error(`${file}:\n${describeErrors(validate.errors).map((e) => `  - ${e}`).join('\n')}`);
  return list;
}

export async function saveProvisioned(dataDir: string, devices: ProvisionedDevice[]): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFileDurably(provisionedFile(dataDir), `${JSON.stringify(devices, null, 2)}\n`);
}
