/**
 * Id and time formats the contracts share: gateway, device and camera ids, incident ids
 * (ULIDs) and instants (ISO 8601 in UTC, with at most milliseconds).
 */
import { Type } from '@sinclair/typebox';

/** Gateway, device, camera and account ids: 1–64 of `A-Z a-z 0-9 _ . -`, starting with a letter or digit. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

/** A string id of that pattern, described for error messages as `what`. */
export const Id = (what: string) =>
  Type.String({ pattern: ID_PATTERN, description: `${what}: 1-64 of A-Z a-z 0-9 _ . - (starting with a letter or digit)` });

/** Crockford base32, 26 characters: a ULID (incident ids). */
export const ULID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';

/** `2026-12-01T12:00:00.000Z`: an instant in UTC. */
export const ISO_UTC_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$';
