/**
 * Runs Debian's SIPp (`sip-tester`) with a scenario from test/sipp/: an independent SIP
 * implementation playing a GB/T 28181 device or upper platform against the gateway.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

export const SIPP = '/usr/bin/sipp';
const SCENARIOS = fileURLToPath(new URL('../sipp/', import.meta.url));

export interface SippRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** SIPp's error log (unexpected messages), when it wrote one. */
  errors: string;
}

export interface SippOptions {
  scenario: string;
  /** `host:port` to send to (client scenarios); absent for a server scenario. */
  target?: string;
  transport: 'udp' | 'tcp';
  /** SIPp's own port (0: it picks one). */
  localPort?: number;
  keys: Record<string, string>;
  user?: string;
  password?: string;
  timeoutSeconds?: number;
  /** Calls (Call-IDs) to take before it exits; 1 unless said. */
  calls?: number;
  /** For server scenarios: called with the port once SIPp listens. */
  extra?: string[];
}

export function sippAvailable(): boolean {
  return existsSync(SIPP);
}

/** Starts SIPp; `done` resolves when it exits (0: every call of the scenario succeeded). */
export async function sipp(o: SippOptions): Promise<{ done: Promise<SippRun>; kill: () => void }> {
  if (!sippAvailable()) throw new Error(`${SIPP} is missing: run scripts/install-test-deps.sh (Debian package sip-tester)`);
  const dir = await tempDir('sipp');
  const args = [
    ...(o.target ? [o.target] : []),
    '-sf',
    `${SCENARIOS}${o.scenario}`,
    '-m',
    String(o.calls ?? 1),
    '-t',
    o.transport === 'tcp' ? 't1' : 'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(o.localPort ?? 0),
    '-nostdin',
    '-timeout',
    `${o.timeoutSeconds ?? 20}s`,
    '-timeout_error',
    '-trace_err',
    '-error_file',
    `${dir}/errors.log`,
    ...(o.user ? ['-au', o.user] : []),
    ...(o.password ? ['-ap', o.password] : []),
    ...Object.entries(o.keys).flatMap(([k, v]) => ['-key', k, v]),
    ...(o.extra ?? []),
  ];
  const child = spawn(SIPP, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<SippRun>((resolve) =>
    child.once('exit', (code) => {
      let errors = '';
      try {
        errors = existsSync(`${dir}/errors.log`) ? readFileSync(`${dir}/errors.log`, 'utf8') : '';
      } catch {
        errors = '';
      }
      resolve({ code, stdout, stderr, errors });
    }),
  );
  return { done, kill: () => child.kill('SIGKILL') };
}
