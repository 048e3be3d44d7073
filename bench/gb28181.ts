/**
 * GB/T 28181 vs RTSP: the same number of channels at the same size and rate, read by the
 * gateway's camera stage into RGB at the detector size. GB/T 28181: a simulated NVR (its own
 * process: libx264, PS over RTP over UDP) registers to the gateway's SIP service, which INVITEs
 * each channel and hands the PS to ffmpeg; RTSP: simulated cameras (GStreamer, x264) read over
 * RTSP/TCP. Reports frames delivered per second per channel, the decoder's CPU per channel (from
 * /proc), and this process's CPU per frame (for GB/T 28181: SIP, RTP receive, reorder, the PS
 * hand-off to ffmpeg). The encoders run on the same cores and are not counted.
 * Run: npm run bench:gb28181 [-- --channels 4 --fps 2 --stream-width 1280 --stream-height 720
 *        --stream-fps 15 --seconds 20]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Counters } from '../core/counters.js';
import { createLogger } from '../core/log.js';
import { CameraManager } from '../devices/camera/manager.js';
import { LiveVideo } from '../devices/gb28181/live.js';
import { PortPool } from '../devices/gb28181/media/receiver.js';
import { Gb28181Service } from '../devices/gb28181/service.js';
import { BUILTIN_SCENES, renderScenes } from '../sim/camera/scenes.js';
import { SimulatedGbDevice } from '../sim/gb28181/device.js';
import { answerInvites } from '../sim/gb28181/media.js';
import { gbChannelIds } from '../sim/gb28181/scenario.js';
import { DOMAIN, GATEWAY_SIP_ID, gbSettings, NVR_ID } from '../test/helpers/gb28181.js';
import { waitFor } from '../test/helpers/servers.js';
import { arg } from './args.js';
import { sampleCameras, simulatedCameras } from './sim-cameras.js';

const CHANNELS = arg('channels', 4);
const FPS = arg('fps', 2);
const WIDTH = 640;
const HEIGHT = 360;
const STREAM_WIDTH = arg('stream-width', 1280);
const STREAM_HEIGHT = arg('stream-height', 720);
const STREAM_FPS = arg('stream-fps', 15);
const SECONDS = arg('seconds', 20);
const PASSWORD = 'bench-nvr-pass';

/** The child: the simulated NVR, streaming each channel when INVITEd, until its parent goes. */
async function nvrChild(port: number): Promise<void> {
  const scenes = await renderScenes({ vehicles: BUILTIN_SCENES.vehicles!, people: BUILTIN_SCENES.people! }, STREAM_WIDTH, STREAM_HEIGHT);
  const nvr = new SimulatedGbDevice({
    id: NVR_ID,
    password: PASSWORD,
    server: { host: '127.0.0.1', port, id: GATEWAY_SIP_ID, domain: DOMAIN },
    channels: gbChannelIds(NVR_ID, CHANNELS).map((id, i) => ({ id, name: `channel ${i + 1}` })),
    catalogPerMessage: 8,
  });
  answerInvites(nvr, {
    codec: 'h264',
    fps: STREAM_FPS,
    pictures: (channel) => scenes.get(Number(channel.slice(-1)) % 2 ? 'people' : 'vehicles')!.jpegs,
  });
  await nvr.start();
  process.stdin.resume();
  process.stdin.once('end', () => void nvr.kill().then(() => process.exit(0)));
}

interface Measured {
  framesPerSecondPerChannel: number;
  decoderCpuPercentPerChannel: number;
  decodeMsPerDeliveredFrame: number;
  processCpuMsPerFrame: number;
  restarts: number;
}

type BenchCamera = ConstructorParameters<typeof CameraManager>[0][number];

async function measure(what: string, manager: CameraManager): Promise<Measured> {
  const w = await sampleCameras(manager, { count: CHANNELS, seconds: SECONDS, label: what, waitMs: 90_000 });
  await manager.stop();
  const total = w.cameras.reduce((a, c) => a + c.frames, 0);
  const cpuTotal = w.cameras.reduce((a, c) => a + c.decoderCpu, 0);
  return {
    framesPerSecondPerChannel: total / w.elapsed / CHANNELS,
    decoderCpuPercentPerChannel: (cpuTotal / w.elapsed / CHANNELS) * 100,
    decodeMsPerDeliveredFrame: total ? (cpuTotal * 1000) / total : Number.NaN,
    processCpuMsPerFrame: w.ownCpuMs / Math.max(1, total),
    restarts: w.cameras.reduce((a, c) => a + c.restarts, 0),
  };
}

function cameraSettings(id: string, extra: Partial<BenchCamera> = {}): BenchCamera {
  return {
    id,
    grid: '110105001002001',
    source: 'auto',
    fps: FPS,
    width: WIDTH,
    height: HEIGHT,
    stallSeconds: 10,
    motionGate: false,
    queueFrames: 2,
    ...extra,
  } as BenchCamera;
}

async function main(): Promise<void> {
  const log = createLogger('warn');
  const counters = new Counters();
  // GB/T 28181 first: the SIP service, live video, and the NVR in its own process.
  const gb = new Gb28181Service(
    gbSettings({
      media: { portMin: 38000, portMax: 38999, transport: 'udp' },
      devices: [{ id: NVR_ID, grid: '110105001002001', password: PASSWORD, guard: false, subscribeAlarms: false, channels: [] }],
    }),
    { counters, log },
  );
  const port = await gb.start();
  const live = new LiveVideo(gb, { pool: new PortPool(38000, 38999), bindHost: '127.0.0.1', maxStreams: 64, counters, log });
  process.stderr.write(`GB/T 28181: a simulated NVR with ${CHANNELS} channels (${STREAM_WIDTH}x${STREAM_HEIGHT} H.264 @ ${STREAM_FPS})…\n`);
  // The child takes the same options (channels, size, rate) as this run.
  const child: ChildProcess = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--nvr-child', String(port)],
    {
      stdio: ['pipe', 'inherit', 'inherit'],
    },
  );
  let gbResult: Measured;
  const ids = gbChannelIds(NVR_ID, CHANNELS);
  try {
    await waitFor('the NVR catalog', () => (gb.view(NVR_ID)?.catalog.length === CHANNELS ? true : undefined), 60_000);
    const manager = new CameraManager(
      ids.map((id) => cameraSettings(id)),
      { ffmpegPath: 'ffmpeg', log, feed: (id) => live.feed(id) },
    );
    gbResult = await measure('GB/T 28181', manager);
  } finally {
    await live.stop();
    child.stdin?.end();
    await new Promise((r) => child.once('exit', r));
    await gb.stop();
  }

  process.stderr.write(`RTSP: ${CHANNELS} simulated cameras (${STREAM_WIDTH}x${STREAM_HEIGHT} H.264 @ ${STREAM_FPS})…\n`);
  const sims = await simulatedCameras(CHANNELS, 'bench-rtsp-', { width: STREAM_WIDTH, height: STREAM_HEIGHT, fps: STREAM_FPS });
  let rtspResult: Measured;
  try {
    const manager = new CameraManager(
      sims.map((s) => cameraSettings(s.id, { rtsp: s.rtspUrl })),
      { ffmpegPath: 'ffmpeg', log },
    );
    rtspResult = await measure('RTSP', manager);
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
  }

  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    setup: {
      channels: CHANNELS,
      detectorFrame: `${WIDTH}x${HEIGHT}`,
      fps: FPS,
      stream: `${STREAM_WIDTH}x${STREAM_HEIGHT} H.264 @ ${STREAM_FPS}`,
      seconds: SECONDS,
    },
    gb28181: gbResult,
    rtsp: rtspResult,
    channels: ids,
  };
  const f = (n: number, d = 1) => n.toFixed(d);
  const line = (name: string, m: Measured) =>
    `${name.padEnd(11)} ${f(m.framesPerSecondPerChannel, 2)} frames/s per channel (asked ${FPS}), ` +
    `decoder ${f(m.decoderCpuPercentPerChannel)} % of a core per channel, ${f(m.decodeMsPerDeliveredFrame)} ms decode per frame, ` +
    `this process ${f(m.processCpuMsPerFrame, 2)} ms per frame, ${m.restarts} restarts`;
  process.stdout.write(
    `${[
      `${CHANNELS} channels × ${result.setup.stream} → ${WIDTH}x${HEIGHT} RGB @ ${FPS} fps, ${SECONDS} s each, ` +
        `on ${result.machine.cpus} cores`,
      line('GB/T 28181', gbResult),
      line('RTSP', rtspResult),
    ].join('\n')}\n`,
  );
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/gb28181-${result.date.slice(0, 10)}-${CHANNELS}ch.json`, import.meta.url);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`written ${file.pathname}\n`);
}

const childAt = process.argv.indexOf('--nvr-child');
(childAt >= 0 ? nvrChild(Number(process.argv[childAt + 1])) : main()).catch((err: unknown) => {
  process.stderr.write(`bench:gb28181 failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
