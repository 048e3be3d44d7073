/**
 * The gb28181 section resolved: ids and domain from the grid code, passwords from the environment
 * (and nowhere in the problems said), the LAN address as publicHost with a warning, ids unique
 * across devices, channels and cameras, a cascade that is not the gateway itself.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './load.js';

const base = (gb28181: unknown, extra: Record<string, unknown> = {}) => ({
  gateway: { id: 'gw-1', grid: '110105001002000' },
  gb28181,
  ...extra,
});

function resolve(input: unknown, env: Record<string, string> = {}) {
  return resolveConfig(input, 'test.yaml', '/tmp', env);
}

function problems(input: unknown, env: Record<string, string> = {}): string[] {
  try {
    resolve(input, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('gb28181 config', () => {
  it("takes the gateway's county for its SIP id and domain, and says what devices are told without publicHost", () => {
    const c = resolve(base({ devices: [{ id: '11010500011180000001', password: 'nvr-pass-1' }] }));
    expect(c.gb28181).toMatchObject({ sipId: '11010500012000000001', domain: '1101050001', port: 5060, transports: ['udp', 'tcp'] });
    expect(c.gb28181!.devices[0]).toMatchObject({ grid: '110105001002000', password: 'nvr-pass-1', guard: false, subscribeAlarms: true });
    expect(c.warnings.some((w) => /^gb28181\.publicHost: not set; devices are told /.test(w))).toBe(true);
  });

  it('takes passwords from the environment, per device, for the site and for each upper platform', () => {
    const c = resolve(
      base({
        publicHost: '10.20.0.2',
        acceptUnlisted: true,
        devices: [{ id: '11010500011180000001' }],
        cascade: [{ sipId: '11000000002000000001', host: '10.1.0.9' }],
      }),
      {
        GRIDEDGE_GB28181_PASSWORD: 'site-pass-1',
        GRIDEDGE_GB28181_PASSWORD_11010500011180000001: 'nvr-pass-from-env',
        GRIDEDGE_GB28181_CASCADE_PASSWORD_11000000002000000001: 'city-pass-from-env',
      },
    );
    expect(c.gb28181).toMatchObject({ password: 'site-pass-1', publicHost: '10.20.0.2' });
    expect(c.gb28181!.devices[0]!.password).toBe('nvr-pass-from-env');
    expect(c.gb28181!.cascade[0]).toMatchObject({ password: 'city-pass-from-env', domain: '1100000000', port: 5060, transport: 'udp' });
  });

  it('reports every problem at once, and no password in any of them', () => {
    const found = problems(
      base(
        {
          sipId: '11010500012000000001',
          password: 'the-site-secret',
          media: { portMin: 31000, portMax: 31001 },
          devices: [
            { id: '11010500011180000001', channels: [{ id: '11010500011310000001' }, { id: '11010500011310000001' }] },
            { id: '11010500011180000001', keepaliveSeconds: 0 },
          ],
          cascade: [{ sipId: '11010500012000000001', host: '10.1.0.9' }],
        },
        { cameras: [{ id: 'lobby', rtsp: 'rtsp://10.0.0.5/s', gbId: '11010500011310000001' }] },
      ),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gb28181\.devices\[1\]\.keepaliveSeconds: 0 is out of range/),
        'gb28181.media: portMin 31000 to portMax 31001 leaves no room for a stream',
        'gb28181.devices[0].channels[1].id: "11010500011310000001" is already used by gb28181.devices[0].channels[0].id',
        'gb28181.cascade[0].sipId: "11010500012000000001" is the gateway\'s own id',
        'gb28181.cascade[0].password: missing (set it or GRIDEDGE_GB28181_CASCADE_PASSWORD_11010500012000000001)',
      ]),
    );
    expect(found.join('\n')).not.toContain('the-site-secret');
  });

  it('refuses a camera gbId another channel has, and warns of one that is not a video type', () => {
    expect(
      problems(
        base(
          {
            publicHost: '10.20.0.2',
            devices: [{ id: '11010500011180000001', password: 'p-1', channels: [{ id: '11010500011310000001' }] }],
          },
          { cameras: [{ id: 'lobby', rtsp: 'rtsp://10.0.0.5/s', gbId: '11010500011310000001' }] },
        ),
      ),
    ).toEqual(['cameras[0].gbId: "11010500011310000001" is already used by gb28181.devices[0].channels[0].id']);
    const c = resolve(
      base({ publicHost: '10.20.0.2' }, { cameras: [{ id: 'lobby', rtsp: 'rtsp://10.0.0.5/s', gbId: '11010500011180000077' }] }),
    );
    expect(c.warnings.some((w) => w.startsWith('cameras[0].gbId: "11010500011180000077" is not a video channel'))).toBe(true);
  });

  it("accepts the example config's gb28181 section once uncommented", async () => {
    const text = await readFile(new URL('../../gridedge.example.yaml', import.meta.url), 'utf8');
    const block = text.slice(text.indexOf('# gb28181:'));
    const section = parse(block.replace(/^# ?/gm, '')) as { gb28181: unknown };
    const c = resolve(base(section.gb28181), { GRIDEDGE_GB28181_CASCADE_PASSWORD_11000000002000000001: 'city-pass' });
    expect(c.gb28181!.devices[0]!.channels[0]).toMatchObject({ id: '11010500011310000001', name: '东门车行道', detect: { plate: {} } });
    expect(c.gb28181!.cascade[0]).toMatchObject({ host: '10.1.0.9', password: 'city-pass' });
  });
});
