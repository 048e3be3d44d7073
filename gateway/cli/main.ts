#!/usr/bin/env node
/** The `gridedge` command. */
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import { createLogger } from '../../core/log.js';
import { VERSION } from '../../core/package.js';
import { routeInfluxClientLogs } from '../timeseries/influx.js';
import { replaySpool } from '../timeseries/replay.js';
import { hashSecret } from '../../core/credentials.js';
import { DEMO_DEFAULTS, runDemo } from './demo.js';
import { doctor, report } from './doctor.js';
import { CAMERA_KIND, formatReport, loadScenario, runScenario, scenarioCameras, scenarioDevices } from '../../sim/scenario/runner.js';
import { addDevice, listDevices, removeDevice, UsageError, type AddOptions } from './devices.js';
import { detectCommand } from './detect.js';
import { FaultProxy, parseProxySpec } from '../../sim/faults/proxy.js';
import { checkModels } from '../../detectors/catalog.js';
import { discoverCommand, probeCommand, simCameraCommand, type SimCameraCliOptions } from './cameras.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${value}' is not a port (0..65535)`);
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a number >= 0`);
  return n;
}

function mqttUrl(value: string): string {
  if (!/^(mqtt|mqtts|tcp|ssl):\/\/[^\s/]+$/.test(value)) {
    throw new InvalidArgumentError(`'${value}' is not a broker URL (expected mqtt://host:port or mqtts://host:port)`);
  }
  return value;
}

/** Errors the user can fix get a plain message and exit code 2; anything else is a bug or an environment failure (1). */
function fail(err: unknown): never {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`gridedge: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`gridedge: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
}

/** Runs a command's body, turning whatever it throws into the plain message and exit code of fail(). */
function guarded<A extends unknown[]>(body: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await body(...args);
    } catch (err) {
      fail(err);
    }
  };
}

const program = new Command()
  .name('gridedge')
  .description('Edge-sensing gateway: device and camera feeds in, structured incidents out to the grid command centre')
  .version(VERSION)
  .showHelpAfterError();

program
  .command('start')
  .description('run the gateway from a config file')
  .requiredOption('-c, --config <file>', 'YAML config file (see gridedge.example.yaml)')
  .option('--api-port <n>', 'HTTP API port (overrides api.port)', port)
  .action(
    guarded(async (opts: { config: string; apiPort?: number }) => {
      const config = await loadConfig(opts.config);
      if (opts.apiPort !== undefined) config.api.port = opts.apiPort;
      const log = createLogger(config.gateway.logLevel);
      const gateway = new Gateway(config, log);
      await gateway.start();
      const shutdown = (signal: string) => {
        log.info({ signal }, 'stopping');
        gateway.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err: (err as Error).message }, 'unclean stop');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    }),
  );

program
  .command('demo')
  .description('run a gateway with simulated smoke alarms on embedded defaults (no external server needed)')
  .option('--upstream <url>', 'also publish incidents to this MQTT broker', mqttUrl)
  .option('--api-port <n>', 'HTTP API port', port, DEMO_DEFAULTS.apiPort)
  .option('--broker-port <n>', 'device MQTT broker port', port, DEMO_DEFAULTS.brokerPort)
  .option('--data-dir <dir>', 'folder for state and the series spool', DEMO_DEFAULTS.dataDir)
  .option(
    '--devices <n>',
    'number of simulated smoke alarms (1-200)',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 200) throw new InvalidArgumentError(`'${v}' is not a whole number from 1 to 200`);
      return n;
    },
    DEMO_DEFAULTS.devices,
  )
  .option(
    '--alarm-every <seconds>',
    'seconds between simulated alarms (>= 4)',
    (v) => {
      const n = positive(v);
      if (n < 4) throw new InvalidArgumentError('must be at least 4 seconds');
      return n;
    },
    DEMO_DEFAULTS.alarmEvery,
  )
  .option('--duration <seconds>', 'stop after this many seconds (0: until Ctrl-C)', positive, DEMO_DEFAULTS.duration)
  .option('--log-level <level>', 'gateway log level on stderr', 'warn')
  .action(
    guarded(
      async (opts: {
        upstream?: string;
        apiPort: number;
        brokerPort: number;
        dataDir: string;
        devices: number;
        alarmEvery: number;
        duration: number;
        logLevel: string;
      }) => {
        const log = createLogger(opts.logLevel, process.stderr);
        await runDemo(opts, log, (line) => process.stdout.write(`${line}\n`));
        process.exit(0);
      },
    ),
  );

const configCmd = program.command('config').description('work with config files');
configCmd
  .command('check')
  .description('validate a config file and exit (0: valid, 2: invalid)')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .action(
    guarded(async (opts: { config: string }) => {
      const config = await loadConfig(opts.config);
      process.stdout.write(
        `config OK: gateway ${config.gateway.id}, grid ${config.gateway.grid}, ${config.devices.length} devices, ` +
          `upstream ${config.upstream ? 'configured' : 'none'}, series ${config.influx ? 'InfluxDB' : 'local spool'}\n`,
      );
    }),
  );

program
  .command('doctor')
  .description('check a config and everything it names (ports, upstream, series server, files); exit 1 on any failure')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .action(async (opts: { config: string }) => {
    const checks = await doctor(opts.config);
    process.stdout.write(`${report(checks)}\n`);
    process.exit(checks.some((c) => c.outcome === 'FAIL') ? 1 : 0);
  });

type ProxySpec = ReturnType<typeof parseProxySpec>;
function proxySpec(v: string): ProxySpec {
  try {
    return parseProxySpec(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

const simCmd = program
  .command('sim')
  .description(
    'play a scenario (a fleet, a timeline, expectations) against any gateway over MQTT, and report expected vs seen; `sim camera` runs one simulated ONVIF camera',
  )
  .option('--scenario <file>', 'scenario YAML (see sim/scenarios/)')
  .option('--target <url>', "the gateway's device broker, mqtt://host:port")
  .option('--upstream <url>', 'the broker the gateway publishes incidents to (needed to check expectations)', mqttUrl)
  .option('--seed <n>', "seed for the jitter (default: the scenario's)", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`'${v}' is not a whole number`);
    return n;
  })
  .option('--json', 'print the report as JSON', false)
  .option(
    '--upstream-proxy <listen=target>',
    "for upstream-down faults: listen here (point the gateway's upstream.url at it) and forward to the real broker, e.g. 127.0.0.1:18830=127.0.0.1:1883",
    proxySpec,
  )
  .option(
    '--series-proxy <listen=target>',
    'for series-down faults: the same in front of the series server, e.g. 127.0.0.1:18428=127.0.0.1:8428',
    proxySpec,
  )
  .option('--print-devices', "print the fleet as the gateway config's devices: (and kinds:) sections, and exit", false)
  .action(
    guarded(
      async (opts: {
        scenario?: string;
        target?: string;
        upstream?: string;
        seed?: number;
        json: boolean;
        printDevices: boolean;
        upstreamProxy?: ProxySpec;
        seriesProxy?: ProxySpec;
      }) => {
        if (!opts.scenario) throw new UsageError('--scenario is needed (or use `gridedge sim camera`)');
        const scenario = await loadScenario(opts.scenario);
        if (opts.printDevices) {
          const lines = [
            'devices:',
            ...scenarioDevices(scenario)
              .filter((d) => d.kind !== CAMERA_KIND)
              .flatMap((d) => [
                `  - id: ${d.id}`,
                `    kind: ${d.kind}`,
                `    grid: "${d.grid}"`,
                `    secret: ${d.secret}`,
                ...(Object.keys(d.options).length ? [`    options: ${JSON.stringify(d.options)}`] : []),
              ]),
          ];
          if (scenario.gatewayKinds) lines.push(...stringifyYaml({ kinds: scenario.gatewayKinds }).trimEnd().split('\n'));
          const cameras = scenarioCameras(scenario);
          if (cameras.length) lines.push(...stringifyYaml({ cameras }).trimEnd().split('\n'));
          process.stdout.write(`${lines.join('\n')}\n`);
          return;
        }
        if (!opts.target) throw new UsageError("--target is needed: the gateway's device broker, mqtt://host:port");
        mqttUrl(opts.target);
        const upstreamProxy = opts.upstreamProxy ? new FaultProxy({ ...opts.upstreamProxy, name: 'upstream' }) : undefined;
        const seriesProxy = opts.seriesProxy ? new FaultProxy({ ...opts.seriesProxy, name: 'series' }) : undefined;
        await upstreamProxy?.start();
        await seriesProxy?.start();
        const report = await runScenario(scenario, {
          target: opts.target,
          ...(opts.upstream ? { upstream: opts.upstream } : {}),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(upstreamProxy ? { upstreamProxy } : {}),
          ...(seriesProxy ? { seriesProxy } : {}),
          progress: opts.json ? undefined : (line) => process.stderr.write(`${line}\n`),
        }).finally(async () => {
          await upstreamProxy?.stop();
          await seriesProxy?.stop();
        });
        process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
        process.exit(report.ok ? 0 : 1);
      },
    ),
  );

const whole = (what: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`'${v}' is not a valid ${what} (${min}..${max})`);
  return n;
};

simCmd
  .command('camera')
  .description('run one simulated ONVIF camera (SOAP services, WS-Discovery, Digest snapshot, a real RTSP stream) until Ctrl-C')
  .option('--id <id>', 'camera name and serial', 'sim-cam-1')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--onvif-port <n>', 'ONVIF and snapshot HTTP port (0: any free one)', port, 8000)
  .option('--rtsp-port <n>', 'RTSP port (0: any free one)', port, 8554)
  .option('--discovery-port <n>', 'answer WS-Discovery probes on this UDP port (3702 is the standard one)', port)
  .option('--user <name>', 'the camera account', 'admin')
  .option('--password <password>', 'its password (or GRIDEDGE_SIM_CAMERA_PASSWORD)')
  .option('--fps <n>', 'stream frame rate', whole('frame rate', 1, 60), 10)
  .option('--width <n>', 'stream width (even)', whole('width', 64, 4096), 640)
  .option('--height <n>', 'stream height (even)', whole('height', 64, 4096), 360)
  .option('--codec <codec>', 'h264 or mjpeg', 'h264')
  .option('--scene <name>', 'the first scene: street, people, vehicles, plate, covered, or one from --script', 'street')
  .option('--script <file>', 'YAML with scenes: {name: {image|color, plate?, motion?, tamper?}} and timeline: [{scene, seconds}]')
  .option('--grid <code>', 'the grid cell, announced as the ONVIF location scope')
  .action(
    guarded(async (opts: Omit<SimCameraCliOptions, 'password'> & { password?: string }) => {
      const password = opts.password ?? process.env.GRIDEDGE_SIM_CAMERA_PASSWORD ?? 'admin';
      await simCameraCommand({ ...opts, password }, (line) => process.stdout.write(`${line}\n`));
      process.exit(0);
    }),
  );

program
  .command('models')
  .description('find every detector model, convert the ones that ship in another format (tfjs CenterNet → ONNX), and check each loads')
  .option('--json', 'print JSON', false)
  .action(
    guarded(async (opts: { json: boolean }) => {
      const models = await checkModels((l) => process.stderr.write(`${l}\n`));
      if (opts.json) process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      else
        for (const m of models)
          process.stdout.write(
            `${m.ok ? 'ok  ' : 'FAIL'}  ${m.detector.padEnd(6)}  ${m.name}\n      ${m.ok ? `${m.file} (loads in ${m.loadMs} ms)` : m.error}\n      from ${m.source}\n`,
          );
      process.exit(models.every((m) => m.ok) ? 0 : 1);
    }),
  );

program
  .command('detect')
  .description(
    'run the on-device detectors on pictures and print what they find (boxes, scores, labels, plate text and colour); fire reads the pictures in order as one sequence',
  )
  .argument('<image...>', 'pictures (JPEG, PNG, …)')
  .option('--detector <name>', 'face, plate, object (people and vehicles), fire, or yolo (your own model; default: all built-in)')
  .option('--model <file>', 'yolo: the .onnx model (v5 or v8 output layout)')
  .option('--labels <names>', 'yolo: the class names in order, comma-separated')
  .option('--min-score <n>', "lowest score shown, 0..1 (default: each detector's own)", (v) => {
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`'${v}' is not a score between 0 and 1`);
    return n;
  })
  .option('--json', 'print JSON', false)
  .action(
    guarded(async (images: string[], opts: { detector?: string; minScore?: number; json: boolean; model?: string; labels?: string }) => {
      await detectCommand(images, opts, (l) => process.stdout.write(`${l}\n`));
      process.exit(0);
    }),
  );

const camerasCmd = program.command('cameras').description('find and check ONVIF cameras before putting them in the config');
camerasCmd
  .command('discover')
  .description('send a WS-Discovery probe and list the ONVIF cameras that answer (exit 1 when none does)')
  .option(
    '--target <host[:port]>',
    'probe this address by unicast (repeatable); default: the multicast group',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option('--timeout <seconds>', 'how long to wait for answers', (v) => positive(v) * 1000, 3000)
  .option('--json', 'print the cameras as JSON', false)
  .action(
    guarded(async (opts: { target: string[]; timeout: number; json: boolean }) => {
      const code = await discoverCommand(
        opts,
        (l) => process.stdout.write(`${l}\n`),
        (l) => process.stderr.write(`${l}\n`),
      );
      process.exit(code);
    }),
  );
camerasCmd
  .command('probe')
  .description('connect to one camera over ONVIF and print its information, profiles, stream and snapshot URIs')
  .requiredOption('--xaddr <url>', 'device service address, http://host[:port]/onvif/device_service')
  .option('--user <name>', 'camera user', 'admin')
  .option('--password <password>', 'camera password (or GRIDEDGE_CAMERA_PASSWORD)')
  .option('--json', 'print as JSON', false)
  .action(
    guarded(async (opts: { xaddr: string; user: string; password?: string; json: boolean }) => {
      await probeCommand(opts, (l) => process.stdout.write(`${l}\n`));
      process.exit(0);
    }),
  );

const devicesCmd = program.command('devices').description('provision devices on site (kept hashed in <dataDir>/devices.json)');
const number = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number (${what})`);
  return n;
};
devicesCmd
  .command('add')
  .description('add a device; prints a generated secret once unless --secret is given')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .requiredOption('--id <id>', 'device id (its MQTT client id and user name)')
  .requiredOption('--kind <kind>', 'device kind')
  .option('--grid <code>', "15-digit grid code (default: the gateway's)")
  .option('--name <name>', 'a human name')
  .option('--lat <degrees>', 'latitude', number('latitude'))
  .option('--lon <degrees>', 'longitude', number('longitude'))
  .option('--option <key=value>', "a device option, per its kind's page (repeatable)", (v: string, all: string[] = []) => [...all, v])
  .option('--secret <secret>', 'use this secret instead of a generated one')
  .action(
    guarded(async (opts: Omit<AddOptions, 'config'> & { config: string }) => {
      await addDevice(opts, (line) => process.stdout.write(`${line}\n`));
    }),
  );
devicesCmd
  .command('list')
  .description('list the devices of the config file and those provisioned')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .option('--json', 'as JSON', false)
  .action(
    guarded(async (opts: { config: string; json: boolean }) => {
      await listDevices(opts.config, opts.json, (line) => process.stdout.write(`${line}\n`));
    }),
  );
devicesCmd
  .command('remove')
  .description('remove a provisioned device')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .requiredOption('--id <id>', 'device id')
  .action(
    guarded(async (opts: { config: string; id: string }) => {
      await removeDevice(opts.config, opts.id, (line) => process.stdout.write(`${line}\n`));
    }),
  );
devicesCmd
  .command('hash-secret')
  .description('print the scrypt hash of a secret read from standard input, for devices[].secretHash')
  .action(
    guarded(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const secret = Buffer.concat(chunks)
        .toString('utf8')
        .replace(/\r?\n$/, '');
      if (secret.length < 8) throw new Error('the secret on standard input is shorter than 8 characters');
      process.stdout.write(`${await hashSecret(secret)}\n`);
    }),
  );

const spoolCmd = program.command('spool').description('the local line-protocol spool of readings');
spoolCmd
  .command('replay')
  .description('send spooled readings to the InfluxDB configured in the config file, oldest first, removing each file once sent')
  .requiredOption('-c, --config <file>', 'YAML config file with an influx section')
  .option('--dir <dir>', 'spool folder (default: <gateway.dataDir>/spool)')
  .option('--include-current', "also send the current hour's file (only when no gateway is writing to it)", false)
  .option('--keep', 'rename sent files to *.lp.replayed instead of deleting them', false)
  .action(
    guarded(async (opts: { config: string; dir?: string; includeCurrent: boolean; keep: boolean }) => {
      const config = await loadConfig(opts.config);
      if (!config.influx) throw new Error(`${opts.config} has no influx section: there is no server to replay to`);
      routeInfluxClientLogs(createLogger('silent')); // replay reports its own failures, once

      await replaySpool({
        dir: opts.dir ?? path.join(config.dataDir, 'spool'),
        target: { url: config.influx.url, token: config.influx.token ?? '', org: config.influx.org, bucket: config.influx.bucket },
        includeCurrent: opts.includeCurrent,
        keep: opts.keep,
        progress: (line) => process.stdout.write(`${line}\n`),
      });
      process.exit(0);
    }),
  );

program.parseAsync().catch(fail);
