/** Runs the built `gridedge` command in a child process, as a user would. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/gateway/cli/main.js', import.meta.url));

export interface Run {
  pid: number | undefined;
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

export function gridedge(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000, input?: string): Run {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin?.end(input);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return {
    pid: child.pid,
    code: new Promise((resolve) =>
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      }),
    ),
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => child.kill(signal),
  };
}
