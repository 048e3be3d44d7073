/**
 * Real servers for tests, each on a free loopback port in its own temp folder, stopped by the
 * test that started it: mosquitto as the central platform's broker, victoria-metrics as the
 * InfluxDB-compatible series server. Installed by scripts/install-test-deps.sh (npm pretest).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a server on ports freePort chose, again on new ones when one was taken in between (the
 * port is free when chosen, but another process, or an outgoing connection's ephemeral port, may
 * take it before the server binds: CI once saw influxd fail so).
 */
async function onAnotherPortIfTaken<T>(start: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= tries || !/address already in use|EADDRINUSE/i.test((err as Error).message)) throw err;
    }
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `p`, or an error naming the step when it takes longer than `ms`: a hang says where it hung. */
export async function within<T>(what: string, p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Running {
  child: ChildProcess;
  dir: string;
  output: () => string;
}

/** Waits until `probe` passes; fails at once, with the server's own words, if it exits first. */
async function untilReady(name: string, r: Running, probe: () => Promise<boolean | undefined>, timeoutMs: number): Promise<void> {
  const exited = new Promise<never>((_, reject) =>
    r.child.once('exit', (code) => reject(new Error(`${name} exited with code ${code}: ${r.output().trim()}`))),
  );
  exited.catch(() => undefined);
  try {
    await Promise.race([waitFor(name, probe, timeoutMs), exited]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${name} said: ${r.output().trim()}`);
  }
}

async function launch(
  name: string,
  cmd: string,
  args: (dir: string) => string[],
  setup?: (dir: string) => Promise<void>,
  existingDir?: string,
): Promise<Running> {
  if (!existsSync(cmd)) throw new Error(`${cmd} is missing: run 'bash scripts/install-test-deps.sh' (npm test does)`);
  let dir = existingDir;
  if (!dir) {
    dir = await mkdtemp(path.join(os.tmpdir(), `gridedge-${name}-`));
    // Started as root, mosquitto drops to its own user and must still read its files here.
    await chmod(dir, 0o755);
    await setup?.(dir);
  }
  const child = spawn(cmd, args(dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  return { child, dir, output: () => out };
}

async function terminate(r: Running): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) {
    const exited = new Promise((resolve) => r.child.once('exit', resolve));
    r.child.kill('SIGTERM');
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** A server started by a test: pause and resume keep its folder and port (an outage); stop removes the folder. */
export interface Restartable {
  /** Stops the process but keeps its folder and port, to start it again (an outage). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Launches a server and waits until `probe` passes; the same again on resume, in the same folder. */
async function startServer(
  name: string,
  cmd: string,
  args: (dir: string) => string[],
  ready: { what: string; probe: () => Promise<boolean | undefined>; timeoutMs: number },
  setup?: (dir: string) => Promise<void>,
): Promise<Restartable> {
  let running = await launch(name, cmd, args, setup);
  const untilUp = () => untilReady(ready.what, running, ready.probe, ready.timeoutMs);
  await untilUp();
  return {
    pause: () => terminate(running),
    async resume() {
      running = await launch(name, cmd, args, undefined, running.dir);
      await untilUp();
    },
    async stop() {
      await terminate(running);
      await rm(running.dir, { recursive: true, force: true });
    },
  };
}

export interface Mosquitto extends Restartable {
  port: number;
  url: string;
}

export interface MosquittoOptions {
  /** user → password; when given, anonymous clients are refused. */
  users?: Record<string, string>;
  /** Keep sessions and queued QoS 1 messages across pause/resume, as a production broker would. */
  persistent?: boolean;
  /** A port chosen in advance (e.g. one a gateway was configured with while nothing listened). */
  port?: number;
  /** Serve TLS with these PEM files. */
  tls?: { cafile: string; certfile: string; keyfile: string };
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const lines = [
    `listener ${port} 127.0.0.1`,
    // mosquitto's default of 1000 silently drops QoS 1 messages to a slow subscriber.
    'max_queued_messages 1000000',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  const setup = async (dir: string) => {
    if (opts.tls) lines.push(`cafile ${opts.tls.cafile}`, `certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`);
    if (opts.persistent) {
      await chmod(dir, 0o777); // mosquitto writes its database here after dropping root
      lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
    } else {
      lines.push('persistence false');
    }
    if (opts.users) {
      const pw = path.join(dir, 'passwd');
      await writeFile(pw, '');
      for (const [user, password] of Object.entries(opts.users)) {
        await new Promise<void>((resolve, reject) => {
          const p = spawn('mosquitto_passwd', ['-b', pw, user, password], { stdio: 'ignore' });
          p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_passwd exited ${code}`))));
        });
      }
      lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    await writeFile(path.join(dir, 'mosquitto.conf'), `${lines.join('\n')}\n`);
  };
  const server = await startServer(
    'mosquitto',
    '/usr/sbin/mosquitto',
    (dir) => ['-c', path.join(dir, 'mosquitto.conf')],
    { what: `mosquitto on port ${port}`, probe: () => canConnect(port), timeoutMs: 5000 },
    setup,
  );
  return { port, url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`, ...server };
}

export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetrics extends Restartable {
  port: number;
  url: string;
  /** Every series whose name matches the regex, once force_flush has made them visible. */
  exportSeries(nameRegex: string): Promise<ExportedSeries[]>;
}

export function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  return onAnotherPortIfTaken(startVictoriaMetricsOnce);
}

async function startVictoriaMetricsOnce(): Promise<VictoriaMetrics> {
  const port = await freePort();
  const args = (dir: string) => [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dir}`,
    '-retentionPeriod=100y',
    '-loggerLevel=ERROR',
  ];
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer('victoria-metrics', '/usr/bin/victoria-metrics', args, {
    what: `victoria-metrics on port ${port}`,
    probe: async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok,
    timeoutMs: 10_000,
  });
  return {
    port,
    url,
    async exportSeries(nameRegex) {
      await fetch(`${url}/internal/force_flush`, { method: 'POST' });
      const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': `{__name__=~"${nameRegex}"}` })}`);
      if (!res.ok) throw new Error(`export failed: HTTP ${res.status} ${await res.text()}`);
      const text = await res.text();
      return text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as ExportedSeries);
    },
    ...server,
  };
}

export interface InfluxDB1 extends Restartable {
  port: number;
  url: string;
  /** Runs an InfluxQL statement (CREATE DATABASE, SELECT …) and returns the parsed answer. */
  query(
    q: string,
    db?: string,
  ): Promise<{ results: Array<{ series?: Array<{ name: string; columns: string[]; values: unknown[][] }>; error?: string }> }>;
}

/** Debian's InfluxDB 1.6: the 1.x `/write` API, and field types that are fixed once written (type conflicts are real). */
export function startInfluxDB1(): Promise<InfluxDB1> {
  return onAnotherPortIfTaken(startInfluxDB1Once);
}

async function startInfluxDB1Once(): Promise<InfluxDB1> {
  const [port, rpcPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const setup = async (dir: string) => {
    const conf = [
      'reporting-enabled = false',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
    ];
    await writeFile(path.join(dir, 'influxdb.conf'), `${conf.join('\n')}\n`);
  };
  const server = await startServer(
    'influxd',
    '/usr/bin/influxd',
    (dir) => ['-config', path.join(dir, 'influxdb.conf')],
    {
      what: `influxd on port ${port}`,
      probe: async () => (await fetch(`${url}/ping`).catch(() => undefined))?.status === 204,
      timeoutMs: 15_000,
    },
    setup,
  );
  return {
    port,
    url,
    async query(q, db) {
      const res = await fetch(`${url}/query?${new URLSearchParams({ q, ...(db ? { db } : {}) })}`, { method: 'POST' });
      return (await res.json()) as Awaited<ReturnType<InfluxDB1['query']>>;
    },
    ...server,
  };
}

export interface RedisServer extends Restartable {
  port: number;
  url: string;
}

/** Debian's redis-server, keeping what it acknowledges as production should (AOF, fsync on every write). */
export function startRedis(): Promise<RedisServer> {
  return onAnotherPortIfTaken(startRedisOnce);
}

async function startRedisOnce(): Promise<RedisServer> {
  const port = await freePort();
  const args = (dir: string) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--protected-mode',
    'no',
  ];
  const server = await startServer('redis', '/usr/bin/redis-server', args, {
    what: `redis-server on port ${port}`,
    probe: () => canConnect(port),
    timeoutMs: 5000,
  });
  return { port, url: `redis://127.0.0.1:${port}`, ...server };
}
