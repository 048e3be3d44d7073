/**
 * Devices provisioned on site with `gridedge devices add`, kept beside the config in
 * `<dataDir>/devices.json` with hashed secrets. They join the config file's devices at start-up.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { writeFileDurably } from '../../core/durable.js';
import { compile, configAjv, describeErrors } from '../../core/schema.js';
import { GridCode } from '../../contracts/grid.js';
import { ID_PATTERN } from '../../contracts/ids.js';
import { digestHA1, HASH_PATTERN, hashSecret } from '../../core/credentials.js';

export const ProvisionedSchema = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN }),
    kind: Type.String({ minLength: 1 }),
    secretHash: Type.String({ pattern: HASH_PATTERN }),
    /** HA1 = MD5(id:realm:secret) for kinds whose devices sign in with HTTP Digest: usable for that realm only. */
    digest: Type.Optional(
      Type.Object(
        { realm: Type.String({ minLength: 1 }), ha1: Type.String({ pattern: '^[0-9a-f]{32}$' }) },
        { additionalProperties: false },
      ),
    ),
    grid: Type.Optional(GridCode),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    location: Type.Optional(
      Type.Object(
        { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
        { additionalProperties: false },
      ),
    ),
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
  if (!validate(list))
    throw new Error(
      `${file}:\n${describeErrors(validate.errors)
        .map((e) => `  - ${e}`)
        .join('\n')}`,
    );
  return list;
}

export async function saveProvisioned(dataDir: string, devices: ProvisionedDevice[]): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFileDurably(provisionedFile(dataDir), `${JSON.stringify(devices, null, 2)}\n`);
}

export interface NewDevice {
  id: string;
  kind: string;
  /** Digest realm of the kind, if its devices sign in over HTTP Digest. */
  digestRealm?: string;
  secret?: string;
  grid?: string;
  name?: string;
  location?: { lat: number; lon: number };
  options?: Record<string, unknown>;
}

/**
 * The record of a device provisioned on site (already validated by the caller): a generated
 * secret when none is given, kept only as its scrypt hash (and an HA1 for Digest kinds).
 */
export async function provisionRecord(input: NewDevice): Promise<{ record: ProvisionedDevice; secret: string; generated: boolean }> {
  const generated = input.secret === undefined;
  const secret = input.secret ?? randomBytes(18).toString('base64url');
  const record: ProvisionedDevice = {
    id: input.id,
    kind: input.kind,
    secretHash: await hashSecret(secret),
    ...(input.digestRealm ? { digest: { realm: input.digestRealm, ha1: digestHA1(input.id, input.digestRealm, secret) } } : {}),
    ...(input.grid ? { grid: input.grid } : {}),
    ...(input.name ? { name: input.name } : {}),
    ...(input.location ? { location: input.location } : {}),
    ...(input.options && Object.keys(input.options).length ? { options: input.options } : {}),
    addedAt: new Date().toISOString(),
  };
  return { record, secret, generated };
}
