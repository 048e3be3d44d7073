/**
 * Smart cameras with their own analytics in a scenario's fleet: Hikvision cameras serving the
 * ISAPI alert stream (`kind: isapi-camera`) and Dahua cameras serving eventManager attach
 * (`kind: dahua-camera`), both behind Digest, driven by the timeline: an event raised and cleared
 * on a channel, a plate read with its pictures. Their ports are fixed by the scenario
 * (`options.port`, one more per camera) so `--print-devices` can give the gateway its `cameras:`
 * entries (`isapi:`/`dahua:` with the camera's user and password).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/package.js';
import { type Args, num, str } from '../sim-kind.js';
import { SimulatedDahuaCamera } from './dahua.js';
import { SimulatedIsapiCamera } from './isapi.js';

export interface AnalyticsCameraSpec {
  id: string;
  grid: string;
  secret: string;
  options: Record<string, unknown>;
}

export interface AnalyticsCameraSim {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface AnalyticsCameraKind {
  kind: string;
  /** What is wrong with a fleet entry's options. */
  problems(options: Record<string, unknown>, count: number): string[];
  /** The gateway's `cameras:` entry for one camera. */
  cameraEntry(d: AnalyticsCameraSpec): Record<string, unknown>;
  create(d: AnalyticsCameraSpec): AnalyticsCameraSim;
  actions: Record<string, (sim: AnalyticsCameraSim, args: Args) => Promise<void>>;
}

/** Real photos (the @vladmandic/face-api demo pictures, an npm dependency) as the cameras' pictures. */
let photos: Buffer[] | undefined;
const photo = (i: number): Buffer => {
  photos ??= ['sample1', 'sample2', 'sample3'].map((n) =>
    readFileSync(path.join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', `${n}.jpg`)),
  );
  return photos[i]!;
};

const portProblems = (o: Record<string, unknown>, count: number) =>
  Number.isInteger(o.port) && (o.port as number) > 0 && (o.port as number) + count <= 65535
    ? []
    : ['options.port: give the first port (one per camera from there)'];
const base = (d: AnalyticsCameraSpec) => `http://127.0.0.1:${d.options.port as number}`;
const withDetect = (d: AnalyticsCameraSpec) => (d.options.detect ? { detect: d.options.detect } : {});

const isapi: AnalyticsCameraKind = {
  kind: 'isapi-camera',
  problems: portProblems,
  cameraEntry: (d) => ({ id: d.id, grid: d.grid, isapi: base(d), user: 'admin', password: d.secret, ...withDetect(d) }),
  create: (d) => new SimulatedIsapiCamera({ port: d.options.port as number, password: d.secret, heartbeatMs: 2000, snapshot: photo(0) }),
  actions: {
    /** An event (fielddetection, linedetection, shelteralarm, VMD …), repeated every second until `clear`. */
    raise: async (s, a) => (s as SimulatedIsapiCamera).raise(str(a, 'event', 'fielddetection'), num(a, 'channel', 1)),
    clear: async (s, a) => (s as SimulatedIsapiCamera).clear(str(a, 'event', 'fielddetection'), num(a, 'channel', 1)),
    anpr: async (s, a) =>
      (s as SimulatedIsapiCamera).anpr({
        plate: str(a, 'plate', '京A12345'),
        color: str(a, 'color', 'blue'),
        plateJpeg: photo(1),
        sceneJpeg: photo(2),
      }),
    reboot: async (s) => (s as SimulatedIsapiCamera).dropStreams(),
  },
};

const dahua: AnalyticsCameraKind = {
  kind: 'dahua-camera',
  problems: portProblems,
  cameraEntry: (d) => ({ id: d.id, grid: d.grid, dahua: base(d), user: 'admin', password: d.secret, ...withDetect(d) }),
  create: (d) => new SimulatedDahuaCamera({ port: d.options.port as number, password: d.secret, snapshot: photo(0), wrongLength: true }),
  actions: {
    /** An event's Start (VideoMotion, VideoBlind, CrossRegionDetection …), held until `stop`. */
    start: async (s, a) => (s as SimulatedDahuaCamera).send(str(a, 'code', 'CrossRegionDetection'), 'Start', num(a, 'channel', 1) - 1),
    stop: async (s, a) => (s as SimulatedDahuaCamera).send(str(a, 'code', 'CrossRegionDetection'), 'Stop', num(a, 'channel', 1) - 1),
    plate: async (s, a) =>
      (s as SimulatedDahuaCamera).plate(str(a, 'plate', '浙A12345'), str(a, 'color', 'Blue'), num(a, 'channel', 1) - 1),
    reboot: async (s) => (s as SimulatedDahuaCamera).dropStreams(),
  },
};

export const ANALYTICS_CAMERA_KINDS: Readonly<Record<string, AnalyticsCameraKind>> = { [isapi.kind]: isapi, [dahua.kind]: dahua };
