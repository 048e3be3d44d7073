/** Writes the public JSON Schemas from their TypeBox definitions: `npm run schemas`. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CaptureMessageSchema } from '../contracts/capture.js';
import { IncidentMessageSchema } from '../contracts/incident.js';

export const SCHEMA_FILES = {
  'schemas/incident.v1.schema.json': IncidentMessageSchema,
  'schemas/capture.v1.schema.json': CaptureMessageSchema,
};

export function render(schema: object): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, schema] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(new URL(`../${file}`, import.meta.url), render(schema));
    console.log(`wrote ${file}`);
  }
}
