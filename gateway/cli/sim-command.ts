/**
 * `gridedge sim` and `gridedge sim camera`: their options here; the scenario runner, the fault
 * proxies and the simulated camera load only when one of them runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { guarded, mqttUrl, port, UsageError, whole } from './args.js';

/** The simulated camera's built-in scenes (sim/camera/scenes.ts; a test keeps the two lists equal). */
export const SCENE_NAMES = ['street', 'people', 'faces', 'crowd', 'vehicles', 'plate', 'covered', 'fire', 'smoke'] as const;

/** `gridedge sim camera`'s options. */
export interface SimCameraCliOptions {
  id: string;
  host: string;
  onvifPort: number;
  rtspPort: number;
  discoveryPort?: number;
  user: string;
  password: string;
  fps: number;
  width: number;
  height: number;
  codec: string;
  scene: string;
  script?: string;
  grid?: string;
}

export function simCommand(program: Command): void {
  const simCmd = program
    .command('sim')
    .description(
      'play a scenario (a fleet, a timeline, expectations) against any gateway over MQTT, and report expected vs seen; `sim camera` ' +
        'runs one simulated ONVIF camera',
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
      "for upstream-down faults: listen here (point the gateway's upstream.url at it) and forward to the real broker, e.g. " +
        '127.0.0.1:18830=127.0.0.1:1883',
    )
    .option(
      '--series-proxy <listen=target>',
      'for series-down faults: the same in front of the series server, e.g. 127.0.0.1:18428=127.0.0.1:8428',
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
          upstreamProxy?: string;
          seriesProxy?: string;
        }) => {
          if (!opts.scenario) throw new UsageError('--scenario is needed (or use `gridedge sim camera`)');
          const { CAMERA_KIND, GB_KIND, formatReport, loadScenario, runScenario, scenarioCameras, scenarioDevices, scenarioGb28181 } =
            await import('../../sim/scenario/runner.js');
          const { FaultProxy, parseProxySpec } = await import('../../sim/faults/proxy.js');
          const proxySpec = (option: string, v: string | undefined) => {
            if (v === undefined) return undefined;
            try {
              return parseProxySpec(v);
            } catch (err) {
              throw new UsageError(`${option}: ${(err as Error).message}`);
            }
          };
          const upstreamSpec = proxySpec('--upstream-proxy', opts.upstreamProxy);
          const seriesSpec = proxySpec('--series-proxy', opts.seriesProxy);
          const scenario = await loadScenario(opts.scenario).catch((err: NodeJS.ErrnoException) => {
            throw err.code === 'ENOENT' ? new UsageError(`--scenario ${opts.scenario}: no such file`) : err;
          });
          if (opts.printDevices) {
            const lines = [
              'devices:',
              ...scenarioDevices(scenario)
                .filter((d) => d.kind !== CAMERA_KIND && d.kind !== GB_KIND)
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
            const gb28181 = scenarioGb28181(scenario);
            if (gb28181) lines.push(...stringifyYaml({ gb28181 }).trimEnd().split('\n'));
            process.stdout.write(`${lines.join('\n')}\n`);
            return;
          }
          if (!opts.target) throw new UsageError("--target is needed: the gateway's device broker, mqtt://host:port");
          mqttUrl(opts.target);
          const upstreamProxy = upstreamSpec ? new FaultProxy({ ...upstreamSpec, name: 'upstream' }) : undefined;
          const seriesProxy = seriesSpec ? new FaultProxy({ ...seriesSpec, name: 'series' }) : undefined;
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
    .option('--scene <name>', `the first scene: ${SCENE_NAMES.join(', ')}, or one of --script's`, 'street')
    .option(
      '--script <file>',
      'YAML with scenes: {name: {image | color, plate?, effect? (fire | smoke), motion?, tamper?}} and timeline: [{scene, seconds}]',
    )
    .option('--grid <code>', 'the grid cell, announced as the ONVIF location scope')
    .action(
      guarded(async (opts: Omit<SimCameraCliOptions, 'password'> & { password?: string }) => {
        const { simCameraCommand } = await import('./sim-camera.js');
        const password = opts.password ?? process.env.GRIDEDGE_SIM_CAMERA_PASSWORD ?? 'admin';
        await simCameraCommand({ ...opts, password }, (line) => process.stdout.write(`${line}\n`));
        process.exit(0);
      }),
    );
}
