/**
 * `gridedge sim` and `gridedge sim camera`: their options here; the scenario runner, the fault
 * proxies and the simulated camera load only when one of them runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { guarded, mqttUrl, port, UsageError, whole } from './args.js';

/** The simulated camera's built-in scenes (sim/camera/scenes.ts; a test keeps the two lists equal). */
export const SCENE_NAMES = ['street', 'people', 'faces', 'crowd', 'vehicles', 'plate', 'covered', 'fire', 'smoke', 'walk'] as const;

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

/** `gridedge sim nvr` and `gridedge sim platform`'s options (sim-gb28181.ts runs them). */
export interface SimNvrCliOptions {
  server: string;
  serverId?: string;
  grid?: string;
  id: string;
  password: string;
  channels: number;
  transport: string;
  codec: string;
  fps: number;
  scene: string;
  keepalive: number;
  edition: string;
  alarmEvery?: number;
}

export interface SimPlatformCliOptions {
  id: string;
  host: string;
  port: number;
  lowerId: string;
  password: string;
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
          const {
            CAMERA_KIND,
            GB_KIND,
            SOURCE_FLEET_KINDS,
            formatReport,
            loadScenario,
            runScenario,
            scenarioCameras,
            scenarioDevices,
            scenarioGb28181,
            scenarioSources,
          } = await import('../../sim/scenario/runner.js');
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
                .filter((d) => d.kind !== CAMERA_KIND && d.kind !== GB_KIND && !SOURCE_FLEET_KINDS[d.kind])
                .flatMap((d) => [
                  `  - id: ${d.id}`,
                  `    kind: ${d.kind}`,
                  `    grid: "${d.grid}"`,
                  `    secret: ${d.secret}`,
                  ...(Object.keys(d.options).length ? [`    options: ${JSON.stringify(d.options)}`] : []),
                ]),
            ];
            // Devices behind a platform: their source and external id instead of a secret, and the sources: section.
            const sourced = scenarioSources(scenario);
            if (sourced.devices.length) lines.push(...stringifyYaml(sourced.devices).trimEnd().replace(/^/gm, '  ').split('\n'));
            if (scenario.gatewayKinds) lines.push(...stringifyYaml({ kinds: scenario.gatewayKinds }).trimEnd().split('\n'));
            const cameras = scenarioCameras(scenario);
            if (cameras.length) lines.push(...stringifyYaml({ cameras }).trimEnd().split('\n'));
            const gb28181 = scenarioGb28181(scenario);
            if (gb28181) lines.push(...stringifyYaml({ gb28181 }).trimEnd().split('\n'));
            if (Object.keys(sourced.sources).length) lines.push(...stringifyYaml({ sources: sourced.sources }).trimEnd().split('\n'));
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
      'YAML with scenes: {name: {image | color, plate?, effect? (fire | smoke | walk), motion?, tamper?}} and timeline: [{scene, seconds}]',
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

  simCmd
    .command('nvr')
    .description(
      'run one simulated GB/T 28181 NVR that registers to a gateway (digest), keeps alive, answers its catalog and streams when INVITEd',
    )
    .requiredOption('--server <host:port>', "the gateway's GB/T 28181 address (gb28181.publicHost and port)")
    .option('--server-id <id>', "the gateway's SIP id (gb28181.sipId)")
    .option('--grid <code>', "the gateway's grid code, for its default SIP id when --server-id is not given")
    .option('--id <id>', "the NVR's 20-digit id, as listed in the gateway's gb28181.devices", '11010500011180000001')
    .option('--password <password>', 'its SIP password (or GRIDEDGE_SIM_NVR_PASSWORD)')
    .option('--channels <n>', 'video channels', whole('channels', 1, 64), 2)
    .option('--transport <t>', 'SIP over udp or tcp', 'udp')
    .option('--codec <codec>', 'h264 or h265', 'h264')
    .option('--fps <n>', 'stream frame rate', whole('frame rate', 1, 30), 5)
    .option('--scene <name>', `what the channels show: ${SCENE_NAMES.join(', ')}`, 'street')
    .option('--keepalive <seconds>', 'keepalive period', whole('keepalive period', 1, 3600), 60)
    .option('--edition <year>', 'GB/T 28181 edition: 2016 (GB2312) or 2022 (X-GB-Ver 3.0, GB18030)', '2016')
    .option('--alarm-every <seconds>', 'send an intrusion alarm on the first channel this often', whole('alarm period', 1, 86_400))
    .action(
      guarded(async (opts: Omit<SimNvrCliOptions, 'password'> & { password?: string }) => {
        const { simNvrCommand } = await import('./sim-gb28181.js');
        const password = opts.password ?? process.env.GRIDEDGE_SIM_NVR_PASSWORD;
        if (!password)
          throw new UsageError("--password (or GRIDEDGE_SIM_NVR_PASSWORD) is needed: the one in the gateway's gb28181.devices");
        await simNvrCommand({ ...opts, password }, (line) => process.stdout.write(`${line}\n`));
        process.exit(0);
      }),
    );

  simCmd
    .command('platform')
    .description("run a simulated GB/T 28181 upper platform (上级平台) that a gateway's gb28181.cascade registers to")
    .option('--id <id>', "the platform's 20-digit SIP id", '11000000002000000001')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'SIP port, UDP and TCP (0: any free one)', port, 5060)
    .requiredOption('--lower-id <id>', "the gateway's SIP id (its gb28181.sipId)")
    .option('--password <password>', 'the password the gateway must give (or GRIDEDGE_SIM_PLATFORM_PASSWORD)')
    .action(
      guarded(async (opts: Omit<SimPlatformCliOptions, 'password'> & { password?: string }) => {
        const { simPlatformCommand } = await import('./sim-gb28181.js');
        const password = opts.password ?? process.env.GRIDEDGE_SIM_PLATFORM_PASSWORD;
        if (!password) throw new UsageError('--password (or GRIDEDGE_SIM_PLATFORM_PASSWORD) is needed');
        await simPlatformCommand({ ...opts, password }, (line) => process.stdout.write(`${line}\n`));
        process.exit(0);
      }),
    );
}
