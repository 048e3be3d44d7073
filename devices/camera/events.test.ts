/**
 * A camera's events as points and incidents: its own intrusion and line-crossing events raise
 * only within the camera's intrusionHours (local time), and are recorded either way; tamper is
 * raised whatever the hour.
 */
import { describe, expect, it } from 'vitest';
import { cameraEventOutput } from './events.js';
import type { CameraEvent } from './manager.js';

const ev = (kind: CameraEvent['kind'], state = true): CameraEvent => ({
  camera: 'lawn-cam',
  grid: '110105001002003',
  kind,
  state,
  at: Date.parse('2026-12-04T14:30:00Z'),
  detail: 'ISAPI fielddetection',
});

describe("a camera's own events and its intrusion hours", () => {
  it('raises an intrusion inside the hours, with the local time and the window in its facts', () => {
    const out = cameraEventOutput(ev('intrusion'), '草坪', { window: '22:00-06:00', local: '22:30' });
    expect(out.signal).toMatchObject({
      action: 'raise',
      category: 'camera.intrusion',
      facts: { localTime: '22:30', hours: '22:00-06:00' },
    });
    expect(out.device.name).toBe('草坪');
  });

  it('records an intrusion or a line crossing outside the hours, raising nothing', () => {
    for (const kind of ['intrusion', 'line_crossing'] as const) {
      const out = cameraEventOutput(ev(kind), undefined, { window: '22:00-06:00', local: '14:30' });
      expect(out.signal).toBeUndefined();
      expect(out.point.fields).toEqual({ [kind]: true });
    }
  });

  it('raises tamper whatever the hour, and every event without hours', () => {
    expect(cameraEventOutput(ev('tamper'), undefined, { window: '22:00-06:00', local: '14:30' }).signal).toMatchObject({
      category: 'camera.tamper',
    });
    expect(cameraEventOutput(ev('intrusion')).signal).toMatchObject({ category: 'camera.intrusion' });
    expect(cameraEventOutput(ev('intrusion', false), undefined, { window: '22:00-06:00', local: '14:30' }).signal).toMatchObject({
      action: 'resolve',
    });
  });
});
