/**
 * `gridedge demo`: its options here; the demo itself (simulated devices and a camera) is loaded
 * only when the command runs, so the rest of the CLI never loads the simulator.
 */
import os from 'node:os';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../../core/log.js';
import { guarded, mqttUrl, port, positive } from './args.js';

export interface DemoOptions {
  brokerPort: number;
  apiPort: number;
  upstream?: string;
  dataDir: string;
  devices: number;
  /** Seconds between alarms. */
  alarmEvery: number;
  /** Stop after this many seconds (0: run until interrupted). */
  duration: number;
}

export const DEMO_DEFAULTS: DemoOptions = {
  brokerPort: 1883,
  apiPort: 8080,
  dataDir: path.join(os.tmpdir(), 'gridedge-demo'),
  devices: 6,
  alarmEvery: 8,
  duration: 0,
};

export function demoCommand(program: Command): void {
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
          const { runDemo } = await import('./demo.js');
          await runDemo(opts, log, (line) => process.stdout.write(`${line}\n`));
          process.exit(0);
        },
      ),
    );
}
