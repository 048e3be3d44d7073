/** What a scenario run found, and the report a tester reads. */
export interface ExpectationResult {
  category: string;
  grid?: string;
  device?: string;
  absent: boolean;
  ok: boolean;
  latencyMs?: number;
  incidentId?: string;
}

export interface Report {
  scenario: string;
  seed: number;
  ok: boolean;
  devices: number;
  sent: Record<string, number>;
  expectations: ExpectationResult[];
  missed: number;
  falseAlarms: Array<{ category: string; grid: string; devices: string[]; id: string }>;
  latencyMs: { p50: number; p95: number; p99: number } | null;
  /** What each fault did. */
  faults: Array<{ type: string; at?: number; devices: number; detail: string }>;
  /** Seconds from the first connection to the last. */
  connectSeconds: number;
}

export function formatReport(r: Report): string {
  const lines = [`scenario: ${r.scenario} (seed ${r.seed}, ${r.devices} devices, connected in ${r.connectSeconds.toFixed(1)} s)`];
  lines.push(
    `sent: ${
      Object.entries(r.sent)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'nothing'
    }`,
  );
  for (const e of r.expectations) {
    const what = `${e.absent ? 'no ' : ''}${e.category}${e.grid ? ` in ${e.grid}` : ''}${e.device ? ` from ${e.device}` : ''}`;
    const outcome =
      e.latencyMs !== undefined ? `  (${e.latencyMs} ms)` : e.absent ? (e.ok ? '' : `  (seen: ${e.incidentId})`) : '  (missed)';
    lines.push(`  ${e.ok ? 'ok    ' : 'FAILED'}  ${what}${outcome}`);
  }
  for (const f of r.faults)
    lines.push(`fault: ${f.type}${f.at !== undefined ? ` at ${f.at} s` : ''}${f.devices ? `, ${f.devices} devices` : ''}: ${f.detail}`);
  if (r.latencyMs) lines.push(`latency: p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms`);
  const falseAlarms = r.falseAlarms.map((f) => `${f.category} ${f.devices.join('+')}`).join(', ');
  lines.push(`missed: ${r.missed}, false alarms: ${r.falseAlarms.length}${r.falseAlarms.length ? ` (${falseAlarms})` : ''}`);
  lines.push(r.ok ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
