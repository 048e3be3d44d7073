/**
 * The simulated camera's video, as a GB/T 28181 device sends it when INVITEd: the scene's
 * pictures encoded by ffmpeg (H.264 or H.265, Annex B), cut into frames, muxed into MPEG-PS
 * (frame-aligned packs, the stream map on key frames) and sent as RTP (payload 96, 90 kHz, the
 * SSRC the offer's y= asked for, the marker on each frame's last packet) over UDP, or over TCP
 * with RFC 4571 framing, connecting to the platform (it offered passive) or listening (active).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { AnnexBSplitter, type VideoCodec } from '../../devices/gb28181/media/ps.js';
import { RtpPsSender } from '../../devices/gb28181/media/sender.js';
import { PS_PAYLOAD, readSdp, writeSdp } from '../../devices/gb28181/sdp.js';
import type { IncomingRequest } from '../../devices/gb28181/sip/endpoint.js';
import type { SimulatedGbDevice } from './device.js';

export interface StreamOptions {
  codec: VideoCodec;
  fps: number;
  /** The pictures the channel shows now (JPEG), in turn; asked for again on every frame, so a scene can change. */
  pictures: (channel: string) => Buffer[];
  ffmpeg?: string;
}

/** One outgoing stream: ffmpeg encoding the pictures, the PS/RTP sender. */
export class OutgoingStream {
  private proc?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private readonly sender: RtpPsSender;
  private frame = 0;
  /** Stop sending (the session stays up): a stalled encoder, for the gateway's watchdog. */
  stalled = false;
  stopped = false;

  constructor(
    readonly channel: string,
    ssrc: number,
    private readonly opts: StreamOptions,
  ) {
    this.sender = new RtpPsSender(ssrc);
  }

  get packets(): number {
    return this.sender.packets;
  }

  toUdp(address: string, port: number): Promise<void> {
    return this.sender.toUdp(address, port, '127.0.0.1');
  }

  connectTcp(address: string, port: number): Promise<void> {
    return this.sender.connectTcp(address, port);
  }

  listenTcp(): Promise<number> {
    return this.sender.listenTcp('127.0.0.1');
  }

  /** Starts encoding and sending. */
  start(): void {
    const { codec, fps } = this.opts;
    const encoder =
      codec === 'h264'
        ? [
            '-c:v',
            'libx264',
            '-preset',
            'ultrafast',
            '-tune',
            'zerolatency',
            '-g',
            String(Math.max(1, Math.round(fps * 2))),
            '-bf',
            '0',
            '-f',
            'h264',
          ]
        : [
            '-c:v',
            'libx265',
            '-preset',
            'ultrafast',
            '-x265-params',
            `log-level=error:keyint=${Math.max(1, Math.round(fps * 2))}:bframes=0`,
            '-f',
            'hevc',
          ];
    const proc = spawn(
      this.opts.ffmpeg ?? 'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        // The pictures are JPEGs, said so: probing a pipe of small JPEGs (a quiet scene is 2 KB) would wait for 5 MB.
        '-probesize',
        '32',
        '-analyzeduration',
        '0',
        '-f',
        'image2pipe',
        '-c:v',
        'mjpeg',
        '-framerate',
        String(fps),
        '-i',
        'pipe:0',
        '-pix_fmt',
        'yuv420p',
        ...encoder,
        // Each frame leaves at once, as a camera sends it: a pipe's buffer would hold a quiet low-rate scene for seconds.
        '-flush_packets',
        '1',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    proc.stdin!.on('error', () => undefined);
    this.proc = proc;
    const splitter = new AnnexBSplitter(codec);
    proc.stdout!.on('data', (chunk: Buffer) => {
      for (const unit of splitter.push(chunk)) this.sendFrame(unit.au, unit.key);
    });
    // Pictures go in at the frame rate, so the stream runs in real time, as a camera's does.
    const tick = () => {
      if (this.stopped) return;
      const pictures = this.opts.pictures(this.channel);
      const picture = pictures[this.frame % Math.max(1, pictures.length)];
      if (picture && proc.stdin!.writable) proc.stdin!.write(picture);
      this.frame++;
      this.timer = setTimeout(tick, 1000 / fps);
    };
    tick();
  }

  private sentFrames = 0;

  private sendFrame(au: Buffer, key: boolean): void {
    if (this.stopped || this.stalled) return;
    this.sender.sendFrame(au, key, this.opts.codec, Math.round((this.sentFrames++ * 90000) / this.opts.fps));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.proc?.kill('SIGKILL');
    this.sender.close();
  }
}

/**
 * Makes a simulated device answer INVITEs with video: the offer read, an answer with the
 * SSRC it asked for, the stream started once the ACK comes; BYE stops it.
 */
export function answerInvites(device: SimulatedGbDevice, opts: StreamOptions): Map<string, OutgoingStream> {
  const streams = new Map<string, OutgoingStream>();
  device.invites = (inc: IncomingRequest) => void answer(device, inc, opts, streams);
  device.byes = (inc) => {
    streams.get(inc.req.callId)?.stop();
    streams.delete(inc.req.callId);
  };
  device.endpoint.on('ack', (ack) => streams.get(ack.callId)?.start());
  return streams;
}

async function answer(device: SimulatedGbDevice, inc: IncomingRequest, opts: StreamOptions, streams: Map<string, OutgoingStream>) {
  const channel = /^sip:(\d{20})@/.exec(inc.req.uri)?.[1] ?? '';
  if (!device.opts.channels.some((c) => c.id === channel) && channel !== device.opts.id) {
    inc.reply(404);
    return;
  }
  let offer: ReturnType<typeof readSdp>;
  try {
    offer = readSdp(inc.req.body.toString('utf8'));
  } catch {
    inc.reply(488);
    return;
  }
  const ssrc = offer.ssrc ?? '0100000001';
  const stream = new OutgoingStream(channel, Number(ssrc), opts);
  let port = 15060;
  try {
    if (offer.transport === 'udp') await stream.toUdp(offer.address, offer.port);
    else if (offer.transport === 'tcp-passive') await stream.connectTcp(offer.address, offer.port);
    else port = await stream.listenTcp();
  } catch {
    inc.reply(500);
    return;
  }
  streams.set(inc.req.callId, stream);
  const sdp = writeSdp({
    owner: channel,
    session: 'Play',
    address: '127.0.0.1',
    port,
    // The answer's setup is the opposite of the offer's (RFC 4145 §4.1).
    transport: offer.transport === 'tcp-passive' ? 'tcp-active' : offer.transport === 'tcp-active' ? 'tcp-passive' : 'udp',
    direction: 'sendonly',
    ssrc,
    payloads: [{ pt: PS_PAYLOAD, codec: 'PS' }],
  });
  inc.reply(200, {
    headers: [['contact', device.endpoint.contact(channel, inc.peer)]],
    body: Buffer.from(sdp),
    contentType: 'APPLICATION/SDP',
  });
}
