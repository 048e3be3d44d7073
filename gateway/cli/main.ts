#!/usr/bin/env node
/**
 * The `gridedge` command: `start`, `config check`, `doctor`, `models`, `detect` and `spool replay`
 * here; the other groups register themselves from their own modules.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createLogger, prettyStream } from '../../core/log.js';
import { VERSION } from '../../core/package.js';
import { checkModels } from '../../detectors/catalog.js';
import { loadConfig } from '../config/load.js';
import { Gateway } from '../gateway.js';
import { fail, guarded, logFormat, logLevel, port } from './args.js';
import { camerasCommand } from './cameras.js';
import { demoCommand } from './demo-command.js';
import { detectCommand } from './detect.js';
import { devicesCommand } from './devices-command.js';
import { checkLine, doctor, summary } from './doctor.js';
import { simCommand } from './sim-command.js';
import { spoolCommand } from './spool-command.js';
import { evidenceCommand } from './evidence-command.js';
import { divisionName } from '../../contracts/grid.js';

const program = new Command()
  .name('gridedge')
  .description('Edge-sensing gateway: device and camera feeds in, structured incidents out to the grid command centre')
  .version(VERSION)
  .showHelpAfterError()
  // A mistake in the arguments (a missing --config, an unknown option, a bad value) exits 2, as an
  // invalid config does; help and --version exit 0. Subcommands inherit this when they are made.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('start')
  .description('run the gateway from a config file')
  .requiredOption('-c, --config <file>', 'YAML config file (see gridedge.example.yaml)')
  .option('--api-port <n>', 'HTTP API port (overrides api.port)', port)
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (overrides gateway.logLevel)', logLevel)
  .option(
    '--log-format <format>',
    'json (one object a line, for services) or pretty (for a terminal); default pretty on a terminal',
    logFormat,
  )
  .action(
    guarded(async (opts: { config: string; apiPort?: number; logLevel?: string; logFormat?: 'json' | 'pretty' }) => {
      const config = await loadConfig(opts.config);
      if (opts.apiPort !== undefined) config.api.port = opts.apiPort;
      const format = opts.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json');
      const log = createLogger(opts.logLevel ?? config.gateway.logLevel, format === 'pretty' ? prettyStream() : undefined);
      for (const w of config.warnings) log.warn({ warning: w }, 'config warning');
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

demoCommand(program);

const configCmd = program.command('config').description('work with config files');
configCmd
  .command('check')
  .description('validate a config file and exit (0: valid, 2: invalid)')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .action(
    guarded(async (opts: { config: string }) => {
      const config = await loadConfig(opts.config);
      const where = divisionName(config.gateway.grid);
      process.stdout.write(
        `config OK: gateway ${config.gateway.id}, grid ${config.gateway.grid}${where ? ` (${where})` : ''}, ` +
          `${config.devices.length} devices, upstream ${config.upstream ? 'configured' : 'none'}, ` +
          `series ${config.influx ? 'InfluxDB' : 'local spool'}, data in ${config.dataDir}\n`,
      );
      if (config.warnings.length)
        process.stdout.write(`${config.warnings.length} warnings:\n${config.warnings.map((w) => `  - ${w}`).join('\n')}\n`);
    }),
  );

program
  .command('doctor')
  .description('check a config and everything it names (ports, upstream, series server, files); exit 1 on any failure')
  .requiredOption('-c, --config <file>', 'YAML config file')
  .action(async (opts: { config: string }) => {
    const checks = await doctor(opts.config, (c) => process.stdout.write(`${checkLine(c)}\n`));
    process.stdout.write(`${summary(checks)}\n`);
    process.exit(checks.some((c) => c.outcome === 'FAIL') ? 1 : 0);
  });

simCommand(program);

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
            `${m.ok ? 'ok  ' : 'FAIL'}  ${m.detector.padEnd(6)}  ${m.name}\n      ` +
              `${m.ok ? `${m.file} (loads in ${m.loadMs} ms)` : m.error}\n      from ${m.source}\n`,
          );
      process.exit(models.every((m) => m.ok) ? 0 : 1);
    }),
  );

program
  .command('detect')
  .description(
    'run the on-device detectors on pictures and print what they find (boxes, scores, labels, plate text and colour); fire reads the ' +
      'pictures in order as one sequence',
  )
  .argument('<image...>', 'pictures (JPEG, PNG, …)')
  .option('--detector <name>', 'face, plate, object (people and vehicles), fire, or yolo (your own model; default: all built-in)')
  .option('--model <file>', 'yolo: the .onnx model (v5/v7 [1,N,5+C] or v8/v11 [1,4+C,N] output layout)')
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

camerasCommand(program);
devicesCommand(program);

spoolCommand(program);
evidenceCommand(program);

program.parseAsync().catch(fail);
