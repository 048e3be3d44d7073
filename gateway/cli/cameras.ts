/** `gridedge cameras discover|probe`: find and check ONVIF cameras before putting them in the config. */
import type { Command } from 'commander';
import { discover, parseTarget } from '../../devices/camera/discover.js';
import { OnvifCamera } from '../../devices/camera/onvif.js';
import { guarded, positive, UsageError } from './args.js';

export async function discoverCommand(
  opts: { target: string[]; timeout: number; json: boolean },
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  for (const t of opts.target) {
    try {
      parseTarget(t);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const where = opts.target.length ? opts.target.join(', ') : 'the local network (multicast 239.255.255.250:3702)';
  if (!opts.json) err(`probing ${where} for ${opts.timeout} s…`);
  const found = await discover({
    targets: opts.target,
    timeoutMs: opts.timeout * 1000,
    onProgress: (p) => {
      if (opts.json) return;
      if (p.latest) err(`  found ${p.latest.name ?? p.latest.urn} at ${p.latest.xaddrs.join(' ')}`);
      else err(`  ${Math.round(p.elapsedMs / 1000)} s, ${p.found} found`);
    },
  });
  if (opts.json) out(JSON.stringify(found, null, 2));
  else if (!found.length) out('no ONVIF camera answered');
  else {
    out(`${found.length} camera${found.length === 1 ? '' : 's'}:`);
    for (const f of found) out(`  ${f.name ?? '(no name)'}  ${f.xaddrs[0]}  hardware=${f.hardware ?? '?'}  location=${f.location ?? '?'}`);
  }
  return found.length ? 0 : 1;
}

export async function probeCommand(
  opts: { xaddr: string; user: string; password?: string; json: boolean },
  out: (s: string) => void,
): Promise<void> {
  const password = opts.password ?? process.env.GRIDEDGE_CAMERA_PASSWORD ?? '';
  const cam = await OnvifCamera.connect({ xaddr: opts.xaddr, user: opts.user, password });
  if (opts.json) {
    out(JSON.stringify({ info: cam.info, profiles: cam.profiles, events: Boolean(cam.eventsXaddr) }, null, 2));
    return;
  }
  out(`${cam.info.manufacturer} ${cam.info.model} (firmware ${cam.info.firmware}, serial ${cam.info.serial})`);
  out(`events: ${cam.eventsXaddr ? 'PullPoint' : 'none'}`);
  for (const p of cam.profiles) {
    out(`profile ${p.token} "${p.name}": ${p.encoding ?? '?'} ${p.width ?? '?'}x${p.height ?? '?'} @ ${p.fps ?? '?'} fps`);
    if (p.streamUri) out(`  stream   ${p.streamUri}`);
    if (p.snapshotUri) out(`  snapshot ${p.snapshotUri}`);
  }
}

export function camerasCommand(program: Command): void {
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
    .option('--timeout <seconds>', 'how long to wait for answers, in seconds', positive, 3)
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
}
