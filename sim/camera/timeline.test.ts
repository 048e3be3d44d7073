/** The simulated camera's script: a looping timeline, events that follow it, clear errors. */
import { describe, expect, it } from 'vitest';
import { SimulatedCamera } from './camera.js';

describe('simulated camera timeline', () => {
  it('loops its timeline; motion follows the scenes', async () => {
    const cam = new SimulatedCamera({
      id: 'tl-cam',
      fps: 5,
      timeline: [
        { scene: 'street', seconds: 0.6 },
        { scene: 'people', seconds: 0.6 },
      ],
    });
    await cam.start();
    try {
      await new Promise((r) => setTimeout(r, 2700));
      const motion = cam.events.filter((e) => e.topic === 'tns1:VideoSource/MotionAlarm').map((e) => e.state);
      expect(motion.slice(0, 4)).toEqual([true, false, true, false]);
      expect(['street', 'people']).toContain(cam.scene);
    } finally {
      await cam.stop();
    }
  }, 20_000);

  it('refuses an unknown scene and a missing picture, with the reason', async () => {
    await expect(new SimulatedCamera({ id: 'x', timeline: [{ scene: 'nope', seconds: 1 }] }).start()).rejects.toThrow(
      /timeline names unknown scene "nope"/,
    );
    await expect(
      new SimulatedCamera({ id: 'y', scenes: { gate: { image: '/nonexistent/gate.jpg' } }, initialScene: 'gate' }).start(),
    ).rejects.toThrow(/picture \/nonexistent\/gate\.jpg not found/);
    expect(() => new SimulatedCamera({ id: 'z', width: 641 })).toThrow(/even/);
  }, 20_000);
});
