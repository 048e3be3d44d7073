/**
 * Video the gateway sends up to a platform that INVITEd one of its channels (级联点播). A
 * camera reached over RTSP (ONVIF) has its stream copied by ffmpeg, not decoded (-c:v copy to
 * Annex B), cut into access units and muxed into PS here, so a relayed stream costs a socket
 * and a demuxer, not an encoder; a channel of a GB/T 28181 device below is INVITEd once more
 * and its PS packets are sent on as they came, with the upper platform's SSRC.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { maskUrlsInText } from '../../core/secrets.js';
import type { LiveVideo } from './live.js';
import { AnnexBSplitter, type VideoCodec } from './media/ps.js';
import type { RtpPsSender } from './media/sender.js';

/** A stream running into a sender; `ended` is called once if it stops on its own. */
export interface RelayHandle {
  stop(): Promise<void>;
}

export interface UpstreamSource {
  /** What it is, for logs and the API: never a URL with a password. */
  describe: string;
  start(sender: RtpPsSender, ended: (why: string) => void): Promise<RelayHandle>;
}

const PROBE_TIMEOUT_MS = 10_000;

/** The codec of a URL's first video stream (ffprobe), as PS can carry it: h264 or h265. */
export function probeCodec(url: string, ffprobe = 'ffprobe'): Promise<VideoCodec> {
  // An RTSP stream's codec is in its SDP: a second of analysis is plenty (the default five delays the video).
  const args = [
    '-v',
    'error',
    '-analyzeduration',
    '1000000',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name',
    '-of',
    'csv=p=0',
  ];
  if (url.startsWith('rtsp://')) args.unshift('-rtsp_transport', 'tcp');
  return new Promise((resolve, reject) => {
    execFile(ffprobe, [...args, url], { timeout: PROBE_TIMEOUT_MS }, (err, stdout, stderr) => {
      // Neither the command line nor ffprobe's words may carry the camera's password out: both quote the URL.
      const said = maskUrlsInText(String(stderr).trim().split('\n')[0] ?? '');
      if (err) return reject(new Error(`ffprobe could not read the stream: ${err.killed ? 'timed out' : said || `exit ${err.code}`}`));
      const name = stdout.trim().split('\n')[0];
      if (name === 'h264') return resolve('h264');
      if (name === 'hevc') return resolve('h265');
      reject(new Error(`the stream is ${name || 'not video'}; GB/T 28181 PS carries H.264 or H.265 only`));
    });
  });
}

/**
 * A camera's RTSP stream, copied. `url` may hold the camera's password; `describe` must not.
 * Timestamps are the wall clock at 90 kHz from the stream's start, as a camera stamps them.
 */
export function rtspSource(url: string, describe: string, ffmpeg = 'ffmpeg', ffprobe = 'ffprobe'): UpstreamSource {
  return {
    describe,
    async start(sender, ended) {
      const codec = await probeCodec(url, ffprobe);
      const input = url.startsWith('rtsp://') ? ['-rtsp_transport', 'tcp', '-i', url] : ['-re', '-i', url];
      const proc: ChildProcess = spawn(
        ffmpeg,
        // -flush_packets: each frame leaves at once; a pipe's 32 KB buffer would hold a quiet scene for seconds.
        [
          '-hide_banner',
          '-loglevel',
          'error',
          ...input,
          '-an',
          '-c:v',
          'copy',
          '-flush_packets',
          '1',
          '-f',
          codec === 'h264' ? 'h264' : 'hevc',
          'pipe:1',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const splitter = new AnnexBSplitter(codec);
      const t0 = Date.now();
      proc.stdout!.on('data', (chunk: Buffer) => {
        const ts = Math.round((Date.now() - t0) * 90);
        for (const unit of splitter.push(chunk)) sender.sendFrame(unit.au, unit.key, codec, ts);
      });
      let stopping = false;
      proc.once('exit', (code, signal) => {
        if (!stopping) ended(`ffmpeg ended (${signal ?? `exit ${code}`})`);
      });
      proc.once('error', (err) => {
        if (!stopping) ended(`ffmpeg: ${err.message}`);
      });
      return {
        async stop() {
          stopping = true;
          if (proc.exitCode === null && proc.signalCode === null) {
            const gone = new Promise((r) => proc.once('exit', r));
            proc.kill('SIGKILL');
            await gone;
          }
        },
      };
    },
  };
}

/** A channel of a device below: its own INVITE, its packets sent on. */
export function gbChannelSource(live: LiveVideo, channel: string): UpstreamSource {
  return {
    describe: `GB/T 28181 channel ${channel}`,
    async start(sender, ended) {
      const session = await live.open(channel);
      let stopping = false;
      session.receiver.on('rtp', (payload, timestamp, marker) => sender.sendPayload(payload, timestamp, marker));
      // The decoder side is not read for a relay: keep its buffer from filling.
      session.receiver.stream.resume();
      session.receiver.once('end', (why) => {
        if (!stopping) ended(`the device's stream ended: ${why}`);
      });
      return {
        async stop() {
          stopping = true;
          await session.close();
        },
      };
    },
  };
}
