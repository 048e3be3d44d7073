/** Validates against the committed JSON Schema file (not the TypeBox source), as a platform would. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { IncidentMessage } from '../../contracts/incident.js';

const schema = JSON.parse(readFileSync(new URL('../../schemas/incident.v1.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

export function assertIncident(value: unknown): IncidentMessage {
  if (!validate(value)) {
    throw new Error(`not a valid gridedge.incident/v1 message: ${JSON.stringify(validate.errors)}\n${JSON.stringify(value)}`);
  }
  return value as IncidentMessage;
}
