/**
 * Incident categories: dotted codes (`fire.smoke_alarm`) with a default severity, the time the
 * platform has to acknowledge, the handling deadline (处置时限) and the outbox lane. Whoever
 * raises a category declares it (a device kind in its folder, the camera stage, the detectors'
 * rules, the gateway for `device.*`); a deployment overrides severity and times in its config.
 */
import type { Severity } from './incident.js';

export const CATEGORY_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$';

export interface Category {
  severity: Severity;
  /** Minutes from first occurrence to the handling deadline. */
  deadlineMinutes: number;
  /** Minutes the platform has to acknowledge before a reminder goes out. */
  ackWithinMinutes: number;
  /** Outbox lane 0–9: when a backlog drains, lane 0 (life safety) goes first. */
  lane: number;
  description: string;
}

export type CategoryTable = Readonly<Record<string, Category>>;
