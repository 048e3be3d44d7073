/** The drone kind end to end, DJI Cloud API style: geofences, battery, lost link, replies. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../core/package.js';
import type { Frame } from '../camera/frames.js';
import { SimulatedCamera } from '../../sim/camera/camera.js';
import { SimulatedDrone } from '../../sim/drone.js';
import { waitFor } from '../../test/helpers/servers.js';
import { hostilePayloads, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { breach, inside, type Fence } from './geo.js';

// A patrol area over a river bend, and a no-fly zone over a school inside it.
const PATROL: Fence = {
  id: 'river',
  name: 'Liangma river patrol area',
  type: 'allowed',
  polygon: [
    [39.94, 116.44],
    [39.94, 116.47],
    [39.96, 116.47],
    [39.96, 116.44],
  ],
};
const SCHOOL: Fence = {
  id: 'school',
  name: 'No.3 Primary School',
  type: 'no_fly',
  polygon: [
    [39.948, 116.45],
    [39.948, 116.455],
    [39.952, 116.455],
    [39.952, 116.45],
  ],
};

let t: TestGateway;
let drone: SimulatedDrone;

beforeAll(async () => {
  t = await startTestGateway({
    kinds: { drone: { geofences: [PATROL, SCHOOL], lowBatteryPercent: 30, liveStream: { password: 'live-pass-123' } } },
    devices: [
      { id: '1581F5BKD225D00BXXXX', kind: 'drone', secret: 'drone-secret-1', grid: '110105001002003' },
      {
        id: '4TADKAQ000002J',
        kind: 'drone',
        secret: 'dock-secret-1',
        heartbeatSeconds: 1,
        options: { videoUrl: 'rtsp://127.0.0.1:9/dock' },
      },
      // A dock and the aircraft it carries: the aircraft's messages come over the dock's connection.
      {
        id: '7CTDM4100B0A11',
        kind: 'drone',
        secret: 'dock-secret-2',
        heartbeatSeconds: 0,
        options: { liveVideoId: '1581F6Q8D242100A0001/39-0-7/normal-0' },
      },
      { id: '1581F6Q8D242100A0001', kind: 'drone', via: '7CTDM4100B0A11', grid: '110105001002003' },
      // A dock played by Eclipse Paho (test/e2e/clients/dji_dock_paho.py).
      {
        id: '7CTDM4100B0PY1',
        kind: 'drone',
        secret: 'dock-secret-py',
        heartbeatSeconds: 0,
        options: { liveVideoId: '1581F6Q8D242100A0009/39-0-7/normal-0' },
      },
    ],
  });
  drone = new SimulatedDrone({ url: t.brokerUrl, id: '1581F5BKD225D00BXXXX', secret: 'drone-secret-1' });
  await drone.connect();
  drone.position = { lat: 39.945, lon: 116.445, height: 80 };
});

afterAll(async () => {
  await drone?.disconnect();
  await t?.stop();
});

describe('geofence geometry', () => {
  it('tells inside from outside, and which fence is broken', () => {
    expect(inside(39.95, 116.46, PATROL.polygon)).toBe(true);
    expect(inside(39.97, 116.46, PATROL.polygon)).toBe(false);
    expect(breach(39.95, 116.46, [PATROL, SCHOOL])).toBeUndefined();
    expect(breach(39.95, 116.452, [PATROL, SCHOOL])).toEqual({ fence: 'No.3 Primary School', reason: 'no_fly' });
    expect(breach(39.97, 116.46, [PATROL, SCHOOL])).toEqual({ fence: 'Liangma river patrol area', reason: 'outside_allowed' });
  });
});

describe('drone kind', () => {
  it('writes OSD telemetry to the series', async () => {
    const before = t.gateway.sink.stats().written + t.gateway.sink.stats().pending;
    await drone.osd();
    await t.gateway.sink.flush();
    expect(t.gateway.sink.stats().written + t.gateway.sink.stats().pending).toBe(before + 1);
  });

  it('raises one breach when it leaves the patrol area, and resolves it when it returns', async () => {
    const from = t.incidents.length;
    await drone.flyTo({ lat: 39.965, lon: 116.445 }, 5); // north, out of the area
    await drone.osd();
    await drone.flyTo({ lat: 39.955, lon: 116.445 }, 2); // back in
    const seen = t.incidents.slice(from).map((m) => [m.category, m.status, m.facts.reason]);
    expect(seen).toEqual([
      ['drone.geofence_breach', 'open', 'outside_allowed'],
      ['drone.geofence_breach', 'resolved', 'outside_allowed'],
    ]);
    expect(t.incidents[from]!.grid).toBe('110105001002003');
  });

  it('raises a breach over the no-fly zone inside the patrol area', async () => {
    const from = t.incidents.length;
    await drone.flyTo({ lat: 39.95, lon: 116.452 }, 1);
    await drone.flyTo({ lat: 39.945, lon: 116.445 }, 1);
    expect(t.incidents.slice(from).map((m) => [m.status, m.facts.fence])).toEqual([
      ['open', 'No.3 Primary School'],
      ['resolved', 'No.3 Primary School'],
    ]);
  });

  it('raises low battery once under the threshold, clearing 5 points above it', async () => {
    const from = t.incidents.length;
    for (const b of [31, 29, 28, 33, 35]) {
      drone.battery = b;
      await drone.osd();
    }
    expect(t.incidents.slice(from).map((m) => [m.category, m.status])).toEqual([
      ['drone.low_battery', 'open'],
      ['drone.low_battery', 'resolved'],
    ]);
  });

  it("takes a dock's messages for its declared aircraft as the aircraft's, and closes a dock speaking for another", async () => {
    const dock = new SimulatedDrone({ url: t.brokerUrl, id: '7CTDM4100B0A11', secret: 'dock-secret-2' });
    await dock.connect();
    try {
      const from = t.incidents.length;
      dock.position = { lat: 39.945, lon: 116.445, height: 80 };
      await dock.aircraftOsd('1581F6Q8D242100A0001', 20);
      const m = await t.waitForIncident('aircraft low battery', (x) => x.category === 'drone.low_battery', from);
      expect(m.devices[0]!.id).toBe('1581F6Q8D242100A0001');
      expect(m.grid).toBe('110105001002003');
      expect(dock.connected).toBe(true);
      // An aircraft the registry does not put behind this dock is another device's topic.
      // No PUBACK comes for it (the broker closes the connection instead): not awaited.
      void dock.aircraftOsd('1581F5BKD225D00BXXXX', 50).catch(() => undefined);
      await waitFor('dock disconnected', () => (dock.connected ? undefined : true), 5000);
      expect(t.incidents.slice(from).filter((x) => x.devices[0]!.id === '1581F5BKD225D00BXXXX')).toEqual([]);
    } finally {
      await dock.disconnect().catch(() => undefined);
    }
  });

  it("answers a dock's own requests, raises HMS warnings and failed flight tasks", async () => {
    expect(await drone.request('config', { config_type: 'json', config_scope: 'product' })).toMatchObject({
      method: 'config',
      data: { result: 0, output: { ntp_server_host: 'ntp.aliyun.com' } },
    });
    expect(await drone.request('airport_bind_status', { devices: [{ sn: drone.id }] })).toMatchObject({
      data: { result: 0, output: { bind_status: [{ sn: drone.id, is_device_bind_organization: true }] } },
    });
    expect(await drone.request('something_new')).toMatchObject({ data: { result: 1 } });
    const from = t.incidents.length;
    await drone.event('hms', { list: [{ level: 2, module: 3, code: '0x16100083', in_the_sky: 1 }] });
    const hms = await t.waitForIncident('hms', (x) => x.category === 'drone.hms_warning' && x.status === 'open', from);
    expect(hms.facts).toMatchObject({ level: 2, codes: '0x16100083', count: 1 });
    await drone.event('hms', { list: [{ level: 0, module: 3, code: '0x16100001' }] });
    await t.waitForIncident('hms cleared', (x) => x.id === hms.id && x.status === 'resolved', from);
    const reply = await drone.event(
      'flighttask_progress',
      { output: { ext: { flight_id: 'patrol-9' }, progress: { percent: 40 }, status: 'failed' } },
      true,
    );
    expect(reply).toMatchObject({ data: { result: 0 } });
    const failed = await t.waitForIncident('task failed', (x) => x.category === 'drone.task_failed', from);
    expect(failed.facts).toMatchObject({ status: 'failed', flightId: 'patrol-9', percent: 40 });
  });

  it('answers events that need a reply and topology updates, echoing tid and bid', async () => {
    const reply = await drone.event('flighttask_progress', { progress: 40, status: 'in_progress' }, true);
    expect(reply).toMatchObject({ method: 'flighttask_progress', data: { result: 0 } });
    const topo = await drone.updateTopology();
    expect(topo).toMatchObject({ method: 'update_topo', data: { result: 0 } });
    await drone.event('hms', { level: 1 }, false);
    expect(drone.replies.filter((r) => r.body.method === 'hms')).toEqual([]);
  });

  it('raises drone.link_lost when a drone falls silent, and resolves it when it is heard again', async () => {
    const dock = new SimulatedDrone({ url: t.brokerUrl, id: '4TADKAQ000002J', secret: 'dock-secret-1' });
    await dock.connect();
    await dock.osd();
    const from = t.incidents.length;
    await new Promise((r) => setTimeout(r, 3200));
    t.gateway.heartbeats.check();
    await t.waitForIncident('link lost', (m) => m.category === 'drone.link_lost', from);
    await dock.osd();
    await t.waitForIncident('link back', (m) => m.category === 'drone.link_lost' && m.status === 'resolved', from);
    expect(t.incidents.find((m) => m.category === 'drone.link_lost')?.severity).toBe('critical');
    await dock.disconnect();
  });

  it("makes its live video a camera source, so its frames reach the detectors like any camera's", async () => {
    // The drone's camera: a real RTSP stream (the simulated camera's GStreamer server).
    const feed = new SimulatedCamera({ id: 'drone-feed', initialScene: 'vehicles', fps: 10 });
    await feed.start();
    const frames: Frame[] = [];
    const stop = t.gateway.cameras.addConsumer((f) => void frames.push(f));
    try {
      await drone.publish(
        `thing/product/${drone.id}/state`,
        JSON.stringify({ tid: 't1', bid: 'b1', timestamp: Date.now(), data: { live_status: 1, rtsp_url: feed.rtspUrl } }),
      );
      expect(t.gateway.pipeline.videoSources.get(drone.id)).toMatchObject({ url: feed.rtspUrl, grid: '110105001002003' });
      await waitFor('frames from the drone', () => frames.some((f) => f.camera === `${drone.id}-video`), 20_000);
      const cam = t.gateway.cameras.health().find((c) => c.id === `${drone.id}-video`)!;
      expect(cam).toMatchObject({ grid: '110105001002003', source: 'rtsp', stream: { connected: true } });
      // ...and the detectors read them (vision.liveVideoDetect: people, vehicles, fire by default).
      const seen = await waitFor(
        'the detectors on the drone video',
        () => t.gateway.vision.health().cameras.find((c) => c.camera === `${drone.id}-video` && (c.last.car || c.last.bicycle)),
        30_000,
      );
      expect(seen.detectors).toEqual(['object', 'fire']);
      const dock = new SimulatedDrone({ url: t.brokerUrl, id: '4TADKAQ000002J', secret: 'dock-secret-1' });
      await dock.connect();
      await dock.osd();
      expect(t.gateway.pipeline.videoSources.get('4TADKAQ000002J')?.url).toBe('rtsp://127.0.0.1:9/dock');
      // Nothing serves the dock's configured URL: its camera keeps retrying, and says why.
      await waitFor(
        'the dock stream failing',
        () => t.gateway.cameras.health().find((c) => c.id === '4TADKAQ000002J-video')?.stream?.lastError,
        20_000,
      );
      await dock.disconnect();
    } finally {
      stop();
      await feed.stop();
    }
  }, 60_000);

  it("turns a dock's aircraft video on for its flight task (live_start_push, RTSP) into the detectors, and off after", async () => {
    const feed = new SimulatedCamera({ id: 'aircraft-feed', initialScene: 'vehicles', fps: 10 });
    await feed.start();
    const dock = new SimulatedDrone({ url: t.brokerUrl, id: '7CTDM4100B0A11', secret: 'dock-secret-2' });
    await dock.connect();
    // As a dock answers: its RTSP server's address with the user and password it was given.
    const served = feed.rtspUrl.replace('rtsp://', 'rtsp://gridedge:live-pass-123@');
    dock.serveLive(served);
    const task = (status: string, percent: number) =>
      dock.event('flighttask_progress', { output: { status, progress: { percent }, ext: { flight_id: 'patrol-0412' } } });
    try {
      await task('in_progress', 5);
      const start = await waitFor('live_start_push', () => dock.calls.find((c) => c.method === 'live_start_push'), 5000);
      // DJI Cloud API: url_type 2 is RTSP, its url the dock's server settings; video_id names the aircraft's lens.
      expect(start.data).toEqual({
        url_type: 2,
        url: 'userName=gridedge&password=live-pass-123&port=8554',
        video_id: '1581F6Q8D242100A0001/39-0-7/normal-0',
        video_quality: 0,
      });
      await task('in_progress', 40); // once per task, not per progress report
      const seen = await waitFor(
        'the detectors on the aircraft video',
        () => t.gateway.vision.health().cameras.find((c) => c.camera === '7CTDM4100B0A11-video' && (c.last.car || c.last.bicycle)),
        30_000,
      );
      expect(seen.detectors).toEqual(['object', 'fire']);
      expect(t.gateway.pipeline.videoSources.get('7CTDM4100B0A11')?.url).toBe(served);
      expect(JSON.stringify(t.gateway.cameras.health())).not.toContain('live-pass-123');
      expect(dock.calls.filter((c) => c.method === 'live_start_push')).toHaveLength(1);
      // A vehicle tracked (confirmed) on the aircraft video when its task ends…
      await waitFor(
        'a confirmed track',
        () => t.gateway.vision.health().cameras.find((c) => c.camera === '7CTDM4100B0A11-video' && c.tracks > 0),
        20_000,
      );
      await task('ok', 100);
      const stop = await waitFor('live_stop_push', () => dock.calls.find((c) => c.method === 'live_stop_push'), 5000);
      expect(stop.data).toEqual({ video_id: '1581F6Q8D242100A0001/39-0-7/normal-0' });
      await waitFor('the camera gone', () => !t.gateway.cameras.health().some((c) => c.id === '7CTDM4100B0A11-video'), 10_000);
      expect(t.gateway.pipeline.videoSources.has('7CTDM4100B0A11')).toBe(false);
      // Its tracks ended with it: the car still in view when the video stopped is captured, and the camera's tracking state is gone.
      await waitFor('the capture of the open track', () =>
        t.gateway.captures.recent().find((c) => c.camera === '7CTDM4100B0A11-video' && c.source === 'detector'),
      );
      expect(t.gateway.vision.health().cameras.some((c) => c.camera === '7CTDM4100B0A11-video')).toBe(false);
    } finally {
      await dock.disconnect();
      await feed.stop();
    }
  }, 60_000);

  it('does the same with a dock played by Eclipse Paho, a client we did not write', async () => {
    const feed = new SimulatedCamera({ id: 'paho-dock-feed', initialScene: 'vehicles', fps: 10 });
    await feed.start();
    const py = spawn(
      '/usr/bin/python3',
      [
        path.join(PACKAGE_ROOT, 'test', 'e2e', 'clients', 'dji_dock_paho.py'),
        '--url',
        t.brokerUrl,
        '--sn',
        '7CTDM4100B0PY1',
        '--secret',
        'dock-secret-py',
        '--rtsp',
        feed.rtspUrl,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let said = '';
    py.stdout.on('data', (d: Buffer) => (said += d.toString()));
    py.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<number | null>((r) => py.once('exit', r));
    const calls = () =>
      said
        .split('\n')
        .filter((l) => l.startsWith('{"call"'))
        .map((l) => (JSON.parse(l) as { call: { method: string; data: Record<string, unknown> } }).call);
    try {
      const start = await waitFor('live_start_push to the Paho dock', () => calls().find((c) => c.method === 'live_start_push'), 15_000);
      expect(start.data).toEqual({
        url_type: 2,
        url: 'userName=gridedge&password=live-pass-123&port=8554',
        video_id: '1581F6Q8D242100A0009/39-0-7/normal-0',
        video_quality: 0,
      });
      await waitFor(
        'the detectors on the Paho dock video',
        () => t.gateway.vision.health().cameras.find((c) => c.camera === '7CTDM4100B0PY1-video' && (c.last.car || c.last.bicycle)),
        30_000,
      );
      py.stdin.write('end\n');
      expect(await exited, said).toBe(0);
      expect(calls().map((c) => c.method)).toEqual(['live_start_push', 'live_stop_push']);
      await waitFor('the camera gone', () => !t.gateway.cameras.health().some((c) => c.id === '7CTDM4100B0PY1-video'), 10_000);
    } finally {
      py.kill();
      await feed.stop();
    }
  }, 60_000);

  it('refuses and counts hostile payloads on every channel, and keeps serving', async () => {
    const before = t.gateway.counters.total('messages_rejected_total');
    let sent = 0;
    for (const topic of ['osd', 'state', 'events', 'services_reply']) {
      for (const [, payload] of hostilePayloads()) {
        await drone.publish(`thing/product/${drone.id}/${topic}`, payload);
        sent++;
      }
    }
    await drone.publish(`thing/product/${drone.id}/osd`, JSON.stringify({ data: { latitude: 95, longitude: 0 } }));
    sent++;
    expect(t.gateway.counters.total('messages_rejected_total') - before).toBe(sent);
    const reply = await drone.event('still_there', {}, true);
    expect(reply).toMatchObject({ data: { result: 0 } });
  });
});
