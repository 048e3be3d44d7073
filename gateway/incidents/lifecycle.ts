/**
 * The incident lifecycle the command centre drives: report → dispatch → handle → feedback → check,
 * as open → acknowledged → dispatched → resolved → closed. Each command names the statuses it
 * may start from; anything else is refused with the reason, never applied.
 */
import type { LifecycleCommand } from '../../contracts/commands.js';
import { type IncidentStatus, SEVERITIES, type Severity } from '../../contracts/incident.js';

export const TRANSITIONS: Record<LifecycleCommand, { from: readonly IncidentStatus[]; to: IncidentStatus }> = {
  ack: { from: ['open'], to: 'acknowledged' },
  // A dispatched incident may be dispatched again: the work order goes to someone else.
  dispatch: { from: ['open', 'acknowledged', 'dispatched'], to: 'dispatched' },
  resolve: { from: ['open', 'acknowledged', 'dispatched'], to: 'resolved' },
  close: { from: ['resolved'], to: 'closed' },
};

/** Statuses in which a repeat of the cause folds into the incident. */
export const ACTIVE_STATUSES: ReadonlySet<IncidentStatus> = new Set(['open', 'acknowledged', 'dispatched']);

/** One step up, for escalation (督办) of an overdue incident. */
export function escalate(severity: Severity): Severity {
  return SEVERITIES[Math.min(SEVERITIES.indexOf(severity) + 1, SEVERITIES.length - 1)]!;
}

export interface CommandInput {
  command: LifecycleCommand;
  incidentId: string;
  by?: string;
  assignee?: string;
  note?: string;
}

export type CommandErrorCode = 'not_found' | 'invalid_transition' | 'malformed';
