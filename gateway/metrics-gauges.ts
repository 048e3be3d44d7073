/**
 * What /metrics shows besides the counters: gauges read from each stage at scrape time
 * (outbox, series, broker, cameras, detectors, uplink, the HA pair, active incidents) and the
 * detectors' time per frame as histograms.
 */
import type { CameraHealth } from '../devices/camera/manager.js';
import type { Gateway } from './gateway.js';
import { type GaugeSpec, Metrics } from './metrics.js';

/** Per-camera gauges. */
function cameraGauges(health: () => CameraHealth[]): GaugeSpec[] {
  const per = (name: string, help: string, value: (h: CameraHealth) => number): GaugeSpec => ({
    name,
    help,
    labelNames: ['camera'],
    read: () => health().map((h) => ({ labels: { camera: h.id }, value: value(h) })),
  });
  return [
    per('camera_connected', '1 while frames are flowing from the camera', (h) => (h.stream?.connected ? 1 : 0)),
    per('camera_fps_in', 'frames per second decoded from the camera', (h) => h.stream?.fpsIn ?? 0),
    per('camera_frames', 'frames decoded from the camera', (h) => h.stream?.frames ?? 0),
    per('camera_frames_dropped', 'frames dropped because the detectors were behind', (h) => h.framesDropped),
    per('camera_stream_restarts', 'stream reconnections', (h) => h.stream?.restarts ?? 0),
    per('camera_stream_stalls', 'streams found stalled and restarted', (h) => h.stream?.stalls ?? 0),
    per('camera_motion', '1 while the camera reports motion', (h) => (h.motion ? 1 : 0)),
  ];
}

const one = (value: number) => [{ value }];

export function gatewayMetrics(gw: Gateway): { metrics: Metrics; detectorTiming: (ms: Record<string, number>, waitMs: number) => void } {
  const { outbox, series, incidents } = gw;
  const gauges: GaugeSpec[] = [
    { name: 'outbox_pending', help: 'incident messages waiting for the upstream broker', read: () => one(outbox.stats().pending) },
    {
      name: 'outbox_oldest_age_seconds',
      help: 'age of the oldest pending incident message',
      read: () => one(outbox.stats().oldestAgeMs / 1000),
    },
    { name: 'outbox_last_seq', help: 'the last incident message sequence number used', read: () => one(outbox.stats().lastSeq) },
    {
      name: 'evidence_push_pending',
      help: 'evidence objects waiting to be pushed to the centre',
      read: () => one(gw.evidenceService.push?.stats().pending ?? 0),
    },
    {
      name: 'evidence_push_oldest_age_seconds',
      help: 'age of the oldest evidence object waiting to be pushed',
      read: () => one(gw.evidenceService.push?.stats().oldestAgeSeconds ?? 0),
    },
    { name: 'series_pending_lines', help: 'readings buffered for the series store', read: () => one(series.sink.stats().pending) },
    { name: 'series_dropped_lines', help: 'readings given up on', read: () => one(series.dropped()) },
    { name: 'spool_bytes', help: 'bytes of readings spooled on disk', read: () => one(series.spool.bytesOnDisk) },
    { name: 'broker_connections', help: 'devices connected to the embedded broker', read: () => one(gw.broker.connectedClients) },
    ...cameraGauges(() => gw.cameras.health()),
    {
      name: 'detector_mean_ms',
      help: 'mean milliseconds per frame of each detector (last 50 frames)',
      labelNames: ['detector'],
      read: () => Object.entries(gw.vision.health().workers?.meanMs ?? {}).map(([detector, value]) => ({ labels: { detector }, value })),
    },
    { name: 'detector_queue', help: 'frames waiting for a free detector worker', read: () => one(gw.vision.health().workers?.queued ?? 0) },
    { name: 'uplink_connected', help: '1 when the uplink to the platform is up', read: () => one(gw.uplink?.connected ? 1 : 0) },
    ...(gw.cluster
      ? [
          {
            name: 'cluster_leader',
            help: '1 while this node leads its HA pair (uplink, deadlines, offline checks)',
            read: () => one(gw.cluster?.leader ? 1 : 0),
          },
        ]
      : []),
    {
      name: 'incidents_active',
      help: 'incidents open, acknowledged or dispatched, by category and status',
      labelNames: ['category', 'status'],
      read: () => {
        const counts = new Map<string, { category: string; status: string; value: number }>();
        for (const m of incidents.activeIncidents()) {
          const key = `${m.category}\u0000${m.status}`;
          const c = counts.get(key) ?? { category: m.category, status: m.status, value: 0 };
          c.value++;
          counts.set(key, c);
        }
        return [...counts.values()].map(({ category, status, value }) => ({ labels: { category, status }, value }));
      },
    },
  ];
  const metrics = new Metrics(gw.counters, gauges);
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  const perDetector = metrics.histogram('detector_seconds', 'time per frame of each detector, in its worker thread', ['detector'], buckets);
  const wait = metrics.histogram('detector_wait_seconds', 'time a frame waited for a free detector worker', [], buckets);
  return {
    metrics,
    detectorTiming: (ms, waitMs) => {
      for (const [detector, v] of Object.entries(ms)) perDetector.observe({ detector }, v / 1000);
      wait.observe(waitMs / 1000);
    },
  };
}
