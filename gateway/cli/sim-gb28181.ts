/**
 * `gridedge sim nvr` and `gridedge sim platform`: a simulated GB/T 28181 NVR that registers to a
 * gateway (to try a deployment's gb28181 section from a laptop), and a simulated upper platform a
 * gateway's cascade registers to; each until Ctrl-C, saying what happens as it happens.
 */
import { defaultSipId } from '../../devices/gb28181/ids.js';
import { BUILTIN_SCENES, renderScenes } from '../../sim/camera/scenes.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { answerInvites } from '../../sim/gb28181/media.js';
import { SimulatedPlatform } from '../../sim/gb28181/platform.js';
import { gbChannelIds } from '../../sim/gb28181/scenario.js';
import { UsageError } from './args.js';
import type { SimNvrCliOptions, SimPlatformCliOptions } from './sim-command.js';

const GB_ID = /^\d{20}$/;

function hostPort(v: string): { host: string; port: number } {
  const m = /^([^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new UsageError(`--server must be host:port (the gateway's gb28181 address), not "${v}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

const untilStopped = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

export async function simNvrCommand(opts: SimNvrCliOptions, out: (s: string) => void): Promise<void> {
  const server = hostPort(opts.server);
  if (!GB_ID.test(opts.id)) throw new UsageError(`--id must be the NVR's 20-digit GB/T 28181 id, not "${opts.id}"`);
  if (opts.serverId !== undefined && !GB_ID.test(opts.serverId))
    throw new UsageError(`--server-id must be the gateway's 20-digit SIP id, not "${opts.serverId}"`);
  if (!opts.serverId && !opts.grid) throw new UsageError("--server-id (the gateway's gb28181.sipId) or --grid (its grid code) is needed");
  if (opts.transport !== 'udp' && opts.transport !== 'tcp') throw new UsageError(`--transport must be udp or tcp, not "${opts.transport}"`);
  if (opts.codec !== 'h264' && opts.codec !== 'h265') throw new UsageError(`--codec must be h264 or h265, not "${opts.codec}"`);
  if (opts.edition !== '2016' && opts.edition !== '2022') throw new UsageError(`--edition must be 2016 or 2022, not "${opts.edition}"`);
  if (!BUILTIN_SCENES[opts.scene]) throw new UsageError(`--scene must be one of ${Object.keys(BUILTIN_SCENES).join(', ')}`);
  const serverId = opts.serverId ?? defaultSipId(opts.grid!);
  const channels = gbChannelIds(opts.id, opts.channels);
  const scenes = await renderScenes({ [opts.scene]: BUILTIN_SCENES[opts.scene]! }, 640, 360);
  const nvr = new SimulatedGbDevice({
    id: opts.id,
    password: opts.password,
    server: { ...server, id: serverId, domain: serverId.slice(0, 10) },
    transport: opts.transport,
    channels: channels.map((id, i) => ({ id, name: `模拟通道 ${i + 1}` })),
    keepaliveSeconds: opts.keepalive,
    version: opts.edition,
  });
  const streams = answerInvites(nvr, { codec: opts.codec, fps: opts.fps, pictures: () => scenes.get(opts.scene)!.jpegs });
  nvr.endpoint.on('ack', (ack) =>
    out(`INVITEd: streaming ${streams.get(ack.callId)?.channel ?? 'a channel'} (${opts.codec}, ${opts.fps} fps)`),
  );
  try {
    await nvr.start();
  } catch (err) {
    const status = (err as { status?: number }).status;
    await nvr.kill();
    throw new UsageError(
      status === 403
        ? `the gateway refused the NVR (403): a wrong password, or ${opts.id} is not in its gb28181.devices`
        : `${(err as Error).message} (is gb28181 configured on ${opts.server}, and is ${serverId} its sipId?)`,
    );
  }
  out(`simulated NVR ${opts.id} registered to ${serverId} at ${opts.server} over ${opts.transport} (GB/T 28181-${opts.edition})`);
  for (const c of channels) out(`  channel ${c}`);
  out(
    `  keepalive every ${opts.keepalive} s${opts.alarmEvery ? `; an intrusion alarm on the first channel every ${opts.alarmEvery} s` : ''}`,
  );
  out('Ctrl-C unregisters and stops it.');
  const alarms = opts.alarmEvery
    ? setInterval(() => {
        void nvr
          .alarm({ deviceId: channels[0]!, method: 5, type: 6, eventType: 1, priority: 1, description: '模拟入侵' })
          .then((res) => out(`alarm sent: intrusion on ${channels[0]} (${res.status} ${res.reason})`))
          .catch((err: Error) => out(`alarm not taken: ${err.message}`));
      }, opts.alarmEvery * 1000)
    : undefined;
  await untilStopped();
  clearInterval(alarms);
  for (const s of streams.values()) s.stop();
  await nvr.stop();
}

export async function simPlatformCommand(opts: SimPlatformCliOptions, out: (s: string) => void): Promise<void> {
  if (!GB_ID.test(opts.id)) throw new UsageError(`--id must be the platform's 20-digit SIP id, not "${opts.id}"`);
  if (!GB_ID.test(opts.lowerId)) throw new UsageError(`--lower-id must be the gateway's 20-digit SIP id, not "${opts.lowerId}"`);
  const platform = new SimulatedPlatform({
    sipId: opts.id,
    host: opts.host,
    port: opts.port,
    lower: { id: opts.lowerId, password: opts.password },
  });
  const port = await platform.start();
  out(`simulated upper platform ${opts.id} (domain ${opts.id.slice(0, 10)}) on ${opts.host}:${port}, udp and tcp`);
  out(
    `  takes ${opts.lowerId} with the password given; set the gateway's gb28181.cascade to ` +
      `sipId ${opts.id}, host ${opts.host}, port ${port}`,
  );
  out('Ctrl-C stops it.');
  const { service } = platform;
  service.on('registered', (id, first) => out(`${id} ${first ? 'registered' : 'refreshed its registration'}`));
  service.on('unregistered', (id, why) => out(`${id} unregistered (${why})`));
  service.on('catalog', (id, items) => {
    out(`catalog of ${id}: ${items.length} channel(s)`);
    for (const i of items) out(`  ${i.id} ${i.name} ${i.online ? 'ON' : 'OFF'}`);
  });
  service.on('alarm', (a) =>
    out(
      `alarm from ${a.deviceId}: method ${a.method}${a.type !== undefined ? ` type ${a.type}` : ''} ` +
        `priority ${a.priority} ${a.description ?? ''}`,
    ),
  );
  await untilStopped();
  await platform.stop();
}
