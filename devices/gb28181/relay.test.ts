/**
 * The relay's stream probe against a camera that is not there: a clear error, and never the
 * camera's password (ffprobe's own words and its command line both quote the URL).
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/servers.js';
import { probeCodec } from './relay.js';

describe('relay probe', () => {
  it("says why it cannot read a camera's stream without saying its password", async () => {
    const port = await freePort();
    const err = await probeCodec(`rtsp://admin:s3cret-camera-pw@127.0.0.1:${port}/h264/ch1`).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^ffprobe could not read the stream: /);
    expect(err?.message).not.toContain('s3cret-camera-pw');
  });

  it('refuses a stream PS cannot carry', async () => {
    // A still JPEG: ffprobe reads it as mjpeg, which GB/T 28181 PS does not carry.
    const { BUILTIN_SCENES, renderScenes } = await import('../../sim/camera/scenes.js');
    const scenes = await renderScenes({ street: BUILTIN_SCENES.street! }, 64, 64);
    await expect(probeCodec(scenes.get('street')!.files[0]!)).rejects.toThrow(
      /the stream is mjpeg; GB\/T 28181 PS carries H\.264 or H\.265 only/,
    );
  });
});
