/**
 * What a camera's own events mean for the gateway: every motion, tamper, video-loss, intrusion and
 * line-crossing change is a point in the `camera` series; tampering (ONVIF GlobalSceneChange,
 * ISAPI shelteralarm), a stream that stopped delivering frames, and the camera's own intrusion and
 * line-crossing detections (ISAPI) are incidents too, resolved when the camera says so or frames
 * flow again.
 */
import { within } from '../capture-camera/watchlists.js';
import type { DeviceInfo, FieldValue, IncidentSignal } from '../types.js';
import type { CameraEvent } from './manager.js';

export const CAMERA_TAMPER = 'camera.tamper';
export const CAMERA_VIDEO_LOST = 'camera.video_lost';

export interface CameraEventOutput {
  /** The camera as an incident names it. */
  device: DeviceInfo;
  point: { measurement: string; tags: Record<string, string>; fields: Record<string, FieldValue>; ts: number };
  signal?: IncidentSignal;
}

/**
 * A camera event as its series point and, when it calls for one, its incident signal. `hours`:
 * the camera's intrusionHours and the event's local clock time — an intrusion or line crossing
 * outside them is recorded, not raised (a lawn closed only at night).
 */
export function cameraEventOutput(e: CameraEvent, name?: string, hours?: { window: string; local: string }): CameraEventOutput {
  const device: DeviceInfo = { id: e.camera, kind: 'camera', grid: e.grid, ...(name ? { name } : {}) };
  const point = {
    measurement: 'camera',
    tags: { camera: e.camera, grid: e.grid },
    fields: { [e.kind === 'video_back' ? 'video_lost' : e.kind]: e.state },
    ts: e.at,
  };
  const category =
    e.kind === 'tamper'
      ? CAMERA_TAMPER
      : e.kind === 'video_lost' || e.kind === 'video_back'
        ? CAMERA_VIDEO_LOST
        : e.kind === 'intrusion' || e.kind === 'line_crossing'
          ? `camera.${e.kind}`
          : undefined;
  if (!category) return { device, point };
  if (hours && e.state && (e.kind === 'intrusion' || e.kind === 'line_crossing') && !within(hours.local, hours.window))
    return { device, point };
  const correlationKey = `${category}:${e.camera}`;
  const signal: IncidentSignal = e.state
    ? {
        action: 'raise',
        category,
        correlationKey,
        occurredAt: e.at,
        facts: {
          camera: e.camera,
          ...(e.detail ? { detail: e.detail } : {}),
          ...(hours && (e.kind === 'intrusion' || e.kind === 'line_crossing') ? { localTime: hours.local, hours: hours.window } : {}),
        },
      }
    : {
        action: 'resolve',
        correlationKey,
        occurredAt: e.at,
        reason:
          e.kind === 'video_back'
            ? 'frames flow again'
            : e.kind === 'tamper'
              ? 'the camera reports no tampering'
              : "the camera's own analytics report it over",
      };
  return { device, point, signal };
}
