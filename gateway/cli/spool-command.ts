/** `gridedge spool replay|quarantine`: the local line-protocol spool of readings, and what the server refused. */
import path from 'node:path';
import type { Command } from 'commander';
import { Counters } from '../../core/counters.js';
import { createLogger } from '../../core/log.js';
import { loadConfig } from '../config/load.js';
import { Quarantine, readQuarantine } from '../timeseries/quarantine.js';
import { replaySpool } from '../timeseries/replay.js';
import { seriesTarget } from '../timeseries/target.js';
import { guarded, UsageError } from './args.js';

export function spoolCommand(program: Command): void {
  const spoolCmd = program.command('spool').description('the local line-protocol spool of readings');
  spoolCmd
    .command('replay')
    .description('send spooled readings to the series server of the config file, oldest first, removing each file once sent')
    .requiredOption('-c, --config <file>', 'YAML config file with an influx section')
    .option('--dir <dir>', 'spool folder (default: <gateway.dataDir>/spool; its quarantine/ folder to retry refused lines)')
    .option('--include-current', "also send the current hour's file (only when no gateway is writing to it)", false)
    .option('--keep', 'rename sent files to *.lp.replayed instead of deleting them', false)
    .action(
      guarded(async (opts: { config: string; dir?: string; includeCurrent: boolean; keep: boolean }) => {
        const config = await loadConfig(opts.config);
        if (!config.influx) throw new UsageError(`${opts.config} has no influx section: there is no server to replay to`);
        const dir = opts.dir ?? path.join(config.dataDir, 'spool');
        // Refused lines stay refused: kept in the quarantine beside the spool (the same folder when replaying it).
        const quarantine = new Quarantine(
          path.basename(dir) === 'quarantine' ? dir : path.join(dir, 'quarantine'),
          new Counters(),
          createLogger('silent'),
        );
        const result = await replaySpool({
          dir,
          target: seriesTarget(config.influx),
          includeCurrent: opts.includeCurrent,
          keep: opts.keep,
          quarantine: (r) => quarantine.add(r),
          progress: (line) => process.stdout.write(`${line}\n`),
        });
        if (result.refused) process.stdout.write(`${result.refused} lines refused by the server: kept in ${quarantine.dir}\n`);
        process.exit(0);
      }),
    );
  spoolCmd
    .command('quarantine')
    .description('list the readings the series server refused (kept in <dataDir>/spool/quarantine), with its reasons')
    .requiredOption('-c, --config <file>', 'YAML config file')
    .option('--json', 'as JSON', false)
    .action(
      guarded(async (opts: { config: string; json: boolean }) => {
        const config = await loadConfig(opts.config, process.env, { requireSecrets: false });
        const dir = path.join(config.dataDir, 'spool', 'quarantine');
        const files = await readQuarantine(dir);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(files, null, 2)}\n`);
        if (!files.length) return void process.stdout.write(`nothing in quarantine (${dir})\n`);
        for (const f of files) {
          process.stdout.write(`${f.file}: ${f.lines} lines\n`);
          for (const r of f.reasons.slice(0, 5)) process.stdout.write(`  refused: ${r}\n`);
        }
        process.stdout.write(`once the cause is fixed: gridedge spool replay --config ${opts.config} --dir ${dir} --include-current\n`);
      }),
    );
}
