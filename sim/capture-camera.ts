/**
 * A simulated smart capture camera at a community gate: face and plate captures over MQTT, or
 * over HTTP as a GA/T 1400 (视图库) client that registers, keeps alive and posts faces and
 * motor vehicles, answering the gateway's Digest challenge as real cameras do.
 */
import { randomBytes } from 'node:crypto';
import { SimulatedMqttDevice, type SimDeviceOptions } from './mqtt-device.js';
import { simKind, str } from './sim-kind.js';
import { ViidHttpClient } from '../devices/capture-camera/viid-client.js';

/** A small, distinct JPEG-framed image (SOI … EOI) for tests that need bytes, not pixels. */
export function fakeJpeg(label = randomBytes(6).toString('hex')): Buffer {
  return Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), Buffer.from(label), Buffer.from('ffd9', 'hex')]);
}

export class SimulatedCaptureCamera extends SimulatedMqttDevice {
  constructor(opts: Omit<SimDeviceOptions, 'will'>) {
    super({ ...opts, will: { topic: `dev/${opts.id}/status`, payload: '"offline"' } });
  }

  topic(channel: 'capture' | 'heartbeat' | 'status'): string {
    return `dev/${this.id}/${channel}`;
  }

  async capturePlate(plate: string, opts: { color?: string; direction?: 'in' | 'out'; image?: Buffer } = {}): Promise<Buffer> {
    const image = opts.image ?? fakeJpeg(plate);
    await this.publish(
      this.topic('capture'),
      JSON.stringify({
        ts: Date.now(),
        subject: 'plate',
        plate,
        image: image.toString('base64'),
        confidence: 0.93,
        ...(opts.color ? { plateColor: opts.color } : {}),
        ...(opts.direction ? { direction: opts.direction } : {}),
      }),
    );
    return image;
  }

  async captureFace(image = fakeJpeg()): Promise<Buffer> {
    await this.publish(
      this.topic('capture'),
      JSON.stringify({ ts: Date.now(), subject: 'face', image: image.toString('base64'), confidence: 0.88, direction: 'in' }),
    );
    return image;
  }
}

/** The GA/T 1400 side of the same camera. */
export class ViidClient extends ViidHttpClient {
  register() {
    return this.post('/VIID/System/Register', { RegisterObject: { DeviceID: this.deviceId } });
  }

  keepalive() {
    return this.post('/VIID/System/Keepalive', { KeepaliveObject: { DeviceID: this.deviceId } });
  }

  unregister() {
    return this.post('/VIID/System/UnRegister', { UnRegisterObject: { DeviceID: this.deviceId } });
  }

  static time(ms = Date.now()): string {
    return new Date(ms + 8 * 3600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  }

  vehicle(plate: string, opts: { id?: string; deviceId?: string; color?: string; image?: Buffer } = {}): Record<string, unknown> {
    return {
      MotorVehicleID: opts.id ?? `${this.deviceId}02${randomBytes(4).toString('hex')}`,
      DeviceID: opts.deviceId ?? this.deviceId,
      PlateNo: plate,
      PlateColor: opts.color ?? '5',
      PassTime: ViidClient.time(),
      SubImageList: {
        SubImageInfoObject: [{ ImageID: 'img1', Type: '02', FileFormat: 'Jpeg', Data: (opts.image ?? fakeJpeg(plate)).toString('base64') }],
      },
    };
  }

  face(opts: { id?: string; image?: Buffer } = {}): Record<string, unknown> {
    return {
      FaceID: opts.id ?? `${this.deviceId}06${randomBytes(4).toString('hex')}`,
      DeviceID: this.deviceId,
      FaceAppearTime: ViidClient.time(),
      SubImageList: {
        SubImageInfoObject: [{ ImageID: 'f1', Type: '11', FileFormat: 'Jpeg', Data: (opts.image ?? fakeJpeg()).toString('base64') }],
      },
    };
  }

  postVehicles(objects: unknown[]) {
    return this.post('/VIID/MotorVehicles', { MotorVehicleListObject: { MotorVehicleObject: objects } });
  }

  postFaces(objects: unknown[]) {
    return this.post('/VIID/Faces', { FaceListObject: { FaceObject: objects } });
  }
}

/** What the scenario runner can do with a simulated capture-camera. */
export const captureCameraSim = simKind<SimulatedCaptureCamera>({
  kind: 'capture-camera',
  create: (url, id, secret) => new SimulatedCaptureCamera({ url, id, secret, reconnect: true }),
  reading: (d) => d.publish(d.topic('heartbeat'), JSON.stringify({ ts: Date.now() })),
  readingTopic: (d) => d.topic('capture'),
  actions: {
    plate: async (d, a) => void (await d.capturePlate(str(a, 'plate', '京A12345'), { direction: 'in' })),
    face: async (d) => void (await d.captureFace()),
  },
});
