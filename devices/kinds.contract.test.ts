/** Every registered device kind keeps the one contract (test/helpers/kind-contract.ts). */
import { describe } from 'vitest';
import { kindContract } from '../test/helpers/kind-contract.js';
import { deviceKinds } from './registry.js';

for (const kind of deviceKinds.values()) {
  describe(`device kind ${kind.kind}`, () => kindContract(kind, new URL(`./${kind.kind}/README.md`, import.meta.url)));
}
