/**
 * `gridedge demo`: a gateway on embedded defaults with a simulated fleet of smoke alarms in two
 * grid cells, one of which goes into alarm every few seconds, folds a repeat, then clears; and,
 * where ffmpeg and GStreamer are installed, a simulated ONVIF camera at the gate of one cell, and
 * a simulated GB/T 28181 NVR that registers to the gateway's SIP port while the gateway itself
 * registers to a simulated city platform (级联). Needs no external server; `--upstream` also
 * publishes incidents to a real broker.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { resolveConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { Gateway } from '../gateway.js';
import type { IncidentMessage } from '../../contracts/incident.js';
import type { Logger } from '../../core/log.js';
import { existsSync } from 'node:fs';
import type { DemoOptions } from './demo-command.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SYSTEM_PYTHON } from '../../sim/camera/rtsp.js';
import { BUILTIN_SCENES } from '../../sim/camera/scenes.js';
import { localClock, zoneLabel } from '../../core/time.js';
import { defaultSipId } from '../../devices/gb28181/ids.js';
import { SimulatedGbDevice } from '../../sim/gb28181/device.js';
import { answerInvites } from '../../sim/gb28181/media.js';
import { SimulatedPlatform } from '../../sim/gb28181/platform.js';
import { renderScenes } from '../../sim/camera/scenes.js';

const GRID_PREFIX = '110105001002'; // Beijing, Chaoyang district: street 001, community 002
/** The plate the demo camera's 'plate' scene shows. */
const DEMO_BLOCKED_PLATE = '京A·12345';

/** The demo's GB/T 28181 parts: the NVR's id and password, the city platform's port. */
export interface DemoGb {
  nvr: { id: string; password: string; channels: string[] };
  platform: SimulatedPlatform;
  platformPort: number;
  platformPassword: string;
}

const DEMO_NVR_ID = '11010500011180000001';
const DEMO_CITY_ID = '11000000002000000001';

export function demoConfig(
  opts: DemoOptions,
  camera?: SimulatedCamera,
  consoleToken = randomBytes(18).toString('base64url'),
  gb?: DemoGb,
): Config {
  const devices = Array.from({ length: opts.devices }, (_, i) => {
    const cell = i % 2 === 0 ? '001' : '002';
    const n = String(i + 1).padStart(2, '0');
    return {
      id: `smoke-${cell}-${n}`,
      kind: 'smoke-alarm',
      name: `Building ${i + 1}, stairwell ${1 + (i % 3)}F`,
      grid: `${GRID_PREFIX}${cell}`,
      location: { lat: 39.9219 + i * 0.0004, lon: 116.4436 + (i % 2) * 0.0006 },
      secret: randomBytes(12).toString('hex'),
    };
  });
  return resolveConfig(
    {
      gateway: { id: 'demo-gw', grid: `${GRID_PREFIX}000`, dataDir: opts.dataDir, logLevel: 'warn', timezone: 'Asia/Shanghai' },
      broker: { host: '127.0.0.1', port: opts.brokerPort },
      // A token made for this run, printed with the console's address: the demo's console opens signed in.
      api: { host: '127.0.0.1', port: opts.apiPort, tokens: [{ name: 'demo', token: consoleToken, role: 'operator' }] },
      ...(opts.upstream ? { upstream: { url: opts.upstream } } : {}),
      devices,
      ...(camera
        ? {
            // The gate camera reads plates (one is on the blocklist), finds people and vehicles, and watches for fire.
            kinds: { 'capture-camera': { blocklist: [{ plate: DEMO_BLOCKED_PLATE, reason: 'demo: reported stolen' }] } },
            cameras: [
              {
                id: camera.id,
                name: 'North gate',
                grid: `${GRID_PREFIX}001`,
                onvif: camera.xaddr,
                user: 'admin',
                password: camera.password,
                detect: { plate: {}, object: {}, fire: {} },
              },
            ],
          }
        : {}),
      ...(gb
        ? {
            gb28181: {
              host: '127.0.0.1',
              port: 0,
              publicHost: '127.0.0.1',
              keepaliveSeconds: 10,
              devices: [
                {
                  id: gb.nvr.id,
                  name: 'South gate NVR',
                  grid: `${GRID_PREFIX}002`,
                  password: gb.nvr.password,
                  keepaliveSeconds: 10,
                  // The first channel's video is pulled (live) so its alarms carry a snapshot.
                  channels: [{ id: gb.nvr.channels[0]!, name: 'South gate driveway', live: true, fps: 1 }],
                },
              ],
              cascade: [
                { sipId: DEMO_CITY_ID, host: '127.0.0.1', port: gb.platformPort, password: gb.platformPassword, keepaliveSeconds: 10 },
              ],
            },
          }
        : {}),
    },
    'demo defaults',
    opts.dataDir,
    {},
  );
}

/** A clock time in the site's zone, with its offset: `21:03:41 UTC+8`. */
function time(iso: string, tz: string): string {
  const ms = Date.parse(iso);
  return `${localClock(ms, tz)} ${zoneLabel(ms, tz)
    .replace(/:00$/, '')
    .replace(/([+-])0(\d)$/, '$1$2')}`;
}

/** One line per incident message: what a person watching the demo wants to read. */
export function incidentLine(m: IncidentMessage, tz: string): string {
  const device = m.devices[0];
  const who = device ? `${device.id}${device.name ? ` (${device.name})` : ''}` : '';
  return [
    time(m.updatedAt, tz),
    m.type.toUpperCase().padEnd(6),
    m.category.padEnd(17),
    m.severity.padEnd(8),
    m.status.padEnd(9),
    `grid ${m.grid}`,
    who,
    `count ${m.count}`,
    ...(m.evidence.length ? [`evidence ${m.evidence.map((e) => e.class ?? e.kind).join(',')}`] : []),
    `seq ${m.seq}`,
    `id ${m.id}`,
  ].join('  ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const onPath = (program: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, program)));

/** What a simulated camera needs on this machine; the demo runs without one when any is missing. */
export function cameraDemoMissing(): string[] {
  const missing: string[] = [];
  if (!existsSync(SYSTEM_PYTHON)) missing.push('python3');
  const typelib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].some((d) =>
    existsSync(`${d}/girepository-1.0/GstRtspServer-1.0.typelib`),
  );
  if (!typelib) missing.push('gir1.2-gst-rtsp-server-1.0');
  if (!onPath('ffmpeg')) missing.push('ffmpeg');
  if (!existsSync(BUILTIN_SCENES.people!.image!)) missing.push('darknet');
  return missing;
}

async function startDemoCamera(out: (line: string) => void): Promise<SimulatedCamera | undefined> {
  const missing = cameraDemoMissing();
  if (missing.length) {
    out(`  camera         none: a simulated camera needs ${missing.join(', ')} (bash scripts/install-test-deps.sh installs them)`);
    return undefined;
  }
  const cam = new SimulatedCamera({
    id: 'cam-001-gate',
    password: randomBytes(9).toString('base64url'),
    location: `${GRID_PREFIX}001`,
    timeline: [
      { scene: 'street', seconds: 10 },
      { scene: 'plate', seconds: 12 },
      { scene: 'people', seconds: 10 },
      { scene: 'fire', seconds: 10 },
      { scene: 'street', seconds: 10 },
      { scene: 'covered', seconds: 8 },
    ],
  });
  try {
    await cam.start();
    return cam;
  } catch (err) {
    out(`  camera         none: the simulated camera did not start (${(err as Error).message})`);
    return undefined;
  }
}

async function startDemoGb(out: (line: string) => void): Promise<DemoGb | undefined> {
  if (!onPath('ffmpeg')) {
    out('  GB/T 28181     none: the simulated NVR needs ffmpeg (bash scripts/install-test-deps.sh installs it)');
    return undefined;
  }
  const platformPassword = randomBytes(9).toString('base64url');
  const platform = new SimulatedPlatform({
    sipId: DEMO_CITY_ID,
    lower: { id: defaultSipId(`${GRID_PREFIX}000`), password: platformPassword },
  });
  const platformPort = await platform.start();
  return {
    nvr: { id: DEMO_NVR_ID, password: randomBytes(9).toString('base64url'), channels: ['11010500011310000001', '11010500011310000002'] },
    platform,
    platformPort,
    platformPassword,
  };
}

/** The NVR registers once the gateway's SIP port is known; its channels show the gate scenes in turn. */
async function startDemoNvr(gb: DemoGb, sipPort: number): Promise<{ nvr: SimulatedGbDevice; stop: () => Promise<void> }> {
  const scenes = await renderScenes({ street: BUILTIN_SCENES.street!, plate: BUILTIN_SCENES.plate! }, 640, 360);
  const gatewayId = defaultSipId(`${GRID_PREFIX}000`);
  const nvr = new SimulatedGbDevice({
    id: gb.nvr.id,
    password: gb.nvr.password,
    server: { host: '127.0.0.1', port: sipPort, id: gatewayId, domain: gatewayId.slice(0, 10) },
    channels: [
      { id: gb.nvr.channels[0]!, name: '南门车行道' },
      { id: gb.nvr.channels[1]!, name: '南门人行道' },
    ],
    keepaliveSeconds: 10,
  });
  const streams = answerInvites(nvr, { codec: 'h264', fps: 2, pictures: () => scenes.get('street')!.jpegs });
  await nvr.start();
  return {
    nvr,
    stop: async () => {
      for (const s of streams.values()) s.stop();
      await nvr.stop();
    },
  };
}

export async function runDemo(opts: DemoOptions, log: Logger, out: (line: string) => void): Promise<void> {
  const camera = await startDemoCamera(out);
  const gb = await startDemoGb(out);
  const config = demoConfig(opts, camera, undefined, gb);
  const gateway = new Gateway(config, log);
  gateway.onIncident((m) => out(incidentLine(m, config.gateway.timezone)));
  const ports = await gateway.start();
  out(`gridedge demo: gateway ${config.gateway.id}, grid ${config.gateway.grid}`);
  out(`  device broker  mqtt://127.0.0.1:${ports.broker}   (${config.devices.length} simulated smoke alarms)`);
  out(`  API            http://127.0.0.1:${ports.api}/healthz`);
  out(`  console        http://127.0.0.1:${ports.api}/?token=${config.api.tokens[0]!.token}   (a token made for this run)`);
  out(
    `  upstream       ${
      opts.upstream
        ? `${opts.upstream}: incidents, captures (…/capture) and their images (…/evidence/<sha256>, faces and plates blurred)`
        : 'none (pass --upstream mqtt://host:port to publish incidents, captures and their images)'
    }`,
  );
  out(`  time series    spooled as line protocol in ${path.join(config.dataDir, 'spool')}`);
  if (camera)
    out(
      `  camera         ${camera.xaddr} (simulated ONVIF, RTSP ${camera.rtspUrl}); its scenes change every few seconds: a car with a ` +
        `blocked plate (vehicle.watchlist_plate), people, flames (fire.video_flame), a covered lens (camera.tamper); alarms in grid ` +
        `${GRID_PREFIX}001 get its snapshot; captures at /api/vision`,
    );
  const nvr = gb && ports.sip !== undefined ? await startDemoNvr(gb, ports.sip) : undefined;
  if (gb && nvr)
    out(
      `  GB/T 28181     SIP udp+tcp 127.0.0.1:${ports.sip} (id ${config.gb28181!.sipId}); a simulated NVR ${gb.nvr.id} registered with ` +
        `digest, its channels are cameras (GET /api/gb28181), it reports an intrusion (camera.intrusion) every ` +
        `${opts.alarmEvery * 3} s; the gateway registers upward to a simulated city platform ${DEMO_CITY_ID} ` +
        `(127.0.0.1:${gb.platformPort})`,
    );
  out(`  an alarm every ${opts.alarmEvery} s; Ctrl-C to stop`);
  const intrusions = nvr
    ? setInterval(
        () =>
          void nvr.nvr
            .alarm({ deviceId: gb!.nvr.channels[0]!, method: 5, type: 6, eventType: 1, priority: 2, description: '南门入侵' })
            .catch(() => undefined),
        opts.alarmEvery * 3000,
      )
    : undefined;

  const alarms = config.devices.map(
    (d) => new SimulatedSmokeAlarm({ url: `mqtt://127.0.0.1:${ports.broker}`, id: d.id, secret: d.secret ?? '', reconnect: true }),
  );
  await Promise.all(alarms.map((a) => a.connect()));
  alarms.forEach((a, i) => {
    setTimeout(() => a.startHeartbeat(5000), i * 300);
  });

  let stopping = false;
  const script = (async () => {
    for (let i = 0; !stopping; i++) {
      const alarm = alarms[i % alarms.length]!;
      await sleep(opts.alarmEvery * 500);
      if (stopping) break;
      await alarm.alarm(1.5 + (i % 4)).catch(() => undefined);
      await sleep(1500);
      if (stopping) break;
      await alarm.alarm(2.5 + (i % 4)).catch(() => undefined); // the repeat folds into the same incident
      await sleep(opts.alarmEvery * 500 - 1500);
      await alarm.clear().catch(() => undefined);
    }
  })();

  const summary = setInterval(() => {
    const h = gateway.health();
    out(
      `-- ${h.broker.connectedClients} devices connected, ${h.series.written} readings stored, ${h.incidents.active} incidents ` +
        `active, ${gateway.counters.total('vision_captures_total')} captures, ${gateway.counters.total('messages_rejected_total')} ` +
        `rejected, uplink ${h.uplink.configured ? (h.uplink.connected ? 'up' : 'DOWN') : 'not configured'}`,
    );
  }, 30_000);

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (opts.duration > 0) setTimeout(done, opts.duration * 1000).unref();
  });
  stopping = true;
  clearInterval(summary);
  clearInterval(intrusions);
  out('gridedge demo: stopping');
  await Promise.all(alarms.map((a) => a.disconnect().catch(() => undefined)));
  await script.catch(() => undefined);
  // Asked before the gateway stops: stopping, it unregisters from the platform.
  const upward = gb?.platform.lower();
  await nvr?.stop();
  await gateway.stop();
  await camera?.stop();
  if (gb) {
    out(
      `gridedge demo: the city platform had the gateway ${upward?.registered ? 'registered' : 'NOT registered'} with ` +
        `${upward?.catalog.length ?? 0} channels in its catalog; ${gb.platform.alarms.length} alarms went up`,
    );
    await gb.platform.stop();
  }
  const counters = gateway.counters;
  out(
    `gridedge demo: ${counters.total('messages_in_total')} messages in, ${counters.total('incident_messages_total')} incident ` +
      `messages, ${counters.total('messages_rejected_total')} rejected`,
  );
  if (opts.upstream)
    out(
      `gridedge demo: upstream got ${counters.total('captures_published_total')} captures and ` +
        `${counters.total('evidence_pushed_total')} images (${counters.total('evidence_masked_total')} masked)`,
    );
}
