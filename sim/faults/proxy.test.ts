/** The fault proxy: forwards bytes, and during an outage resets what is open and refuses what comes. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, parseProxySpec } from './proxy.js';

let echo: net.Server;
let proxy: FaultProxy;

function talk(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed')));
  });
}

beforeAll(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  proxy = new FaultProxy({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port },
    name: 'echo',
  });
  await proxy.start();
});
afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => echo.close(r));
});

describe('fault proxy', () => {
  it('forwards, cuts open connections and refuses new ones during an outage, then forwards again', async () => {
    expect(await talk(proxy.port, 'hello')).toBe('hello');
    const open = net.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => open.once('connect', r));
    const closed = new Promise((r) => open.once('close', r));
    open.on('error', () => undefined);
    proxy.outage(0.5);
    await closed;
    expect(proxy.down).toBe(true);
    await expect(talk(proxy.port, 'during')).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 700));
    expect(proxy.down).toBe(false);
    expect(await talk(proxy.port, 'after')).toBe('after');
    expect(proxy.cut).toBeGreaterThanOrEqual(2);
  });

  it('reads LISTEN=TARGET and says what it wants otherwise', () => {
    expect(parseProxySpec('127.0.0.1:18830=10.0.0.5:1883')).toEqual({
      listen: { host: '127.0.0.1', port: 18830 },
      target: { host: '10.0.0.5', port: 1883 },
    });
    expect(() => parseProxySpec('18830:1883')).toThrow(/is not LISTEN_HOST:PORT=TARGET_HOST:PORT/);
  });
});
