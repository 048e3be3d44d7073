/**
 * `gridedge start` stops cleanly whatever is attached, and says goodbye upstream the MQTT way:
 * the final status (with the outbox figures at stop), then DISCONNECT, so the broker discards the
 * Last Will [MQTT-3.1.2-10] and the retained status a new consumer reads is the true one.
 */
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayStatus } from '../../contracts/topics.js';
import { SimulatedSmokeAlarm } from '../../sim/smoke-alarm.js';
import { gridedge } from '../helpers/cli.js';
import { freePort, startMosquitto, type Mosquitto, waitFor } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { UpstreamSubscriber } from '../helpers/upstream.js';

const TOKEN = 'stop-test-token-0123456789';
let mosquitto: Mosquitto;
beforeAll(async () => {
  mosquitto = await startMosquitto();
});
afterAll(async () => {
  await mosquitto?.stop();
});

async function startGateway(id: string) {
  const dir = await tempDir(`stop-${id}`);
  const [brokerPort, apiPort] = [await freePort(), await freePort()];
  const file = path.join(dir, 'gw.yaml');
  await writeFile(
    file,
    [
      'gateway:',
      `  id: ${id}`,
      '  grid: "110105001002000"',
      '  dataDir: ./d',
      'broker:',
      '  host: 127.0.0.1',
      `  port: ${brokerPort}`,
      'api:',
      `  port: ${apiPort}`,
      `  tokens: [{ name: ops, token: ${TOKEN}, role: operator }]`,
      'upstream:',
      `  url: ${mosquitto.url}`,
      'devices:',
      '  - { id: smoke-1, kind: smoke-alarm, secret: smoke-secret-1 }',
      '',
    ].join('\n'),
  );
  const run = gridedge(['start', '--config', file]);
  await waitFor('gateway listening', () => run.stdout().includes('"msg":"gateway started"') || undefined, 20_000);
  return { run, brokerUrl: `mqtt://127.0.0.1:${brokerPort}`, api: `http://127.0.0.1:${apiPort}` };
}

describe('stopping', () => {
  it('finishes within 5 s with a console live feed, a keep-alive HTTP client and a device attached', async () => {
    const { run, brokerUrl, api } = await startGateway('gw-stop');
    // The console's live feed, as a browser's EventSource holds it open.
    const feed = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${api}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` } }, resolve).once('error', reject),
    );
    expect(feed.statusCode).toBe(200);
    feed.on('data', () => undefined);
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get(`${api}/healthz`, { agent }, (res) => res.resume().once('end', resolve)));
    const alarm = new SimulatedSmokeAlarm({ url: brokerUrl, id: 'smoke-1', secret: 'smoke-secret-1' });
    await alarm.connect();

    const t0 = Date.now();
    run.kill('SIGTERM');
    const code = await run.code;
    const seconds = (Date.now() - t0) / 1000;
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(5);
    expect(run.stdout()).toContain('"msg":"gateway stopped"');
    agent.destroy();
    await alarm.disconnect().catch(() => undefined);
  }, 30_000);

  it('leaves the final figures as the retained status, and its Last Will is not fired', async () => {
    const topic = 'gridedge/v1/110105001002000/gw-goodbye/status';
    const { run, brokerUrl } = await startGateway('gw-goodbye');
    const watching = await UpstreamSubscriber.connect(mosquitto.url, topic);
    await watching.waitFor<GatewayStatus>('online', '/status', (s) => s.state === 'online', 15_000);
    // Three incident messages: alarm, its repeat and its clear.
    const alarm = new SimulatedSmokeAlarm({ url: brokerUrl, id: 'smoke-1', secret: 'smoke-secret-1' });
    await alarm.connect();
    await alarm.alarm(2.5);
    await alarm.alarm(2.6);
    await alarm.clear();
    await alarm.disconnect();
    run.kill('SIGTERM');
    expect(await run.code).toBe(0);
    // What a consumer that arrives later reads.
    const late = await mqtt.connectAsync(mosquitto.url, { clientId: `late-${Date.now()}` });
    const retained = await new Promise<GatewayStatus>((resolve) => {
      late.on('message', (_t, payload) => resolve(JSON.parse(payload.toString()) as GatewayStatus));
      void late.subscribeAsync(topic, { qos: 1 });
    });
    await late.endAsync();
    expect(retained.state).toBe('offline');
    expect(retained.outbox?.lastSeq).toBe(3);
    expect(retained.outbox?.pending).toBe(0);
    // Everything published on the status topic after online: one offline, the clean one (no Will after it).
    await new Promise((r) => setTimeout(r, 500));
    const afterOnline = watching.json<GatewayStatus>('/status').slice(1);
    expect(afterOnline.map((s) => s.state)).toEqual(['offline']);
    await watching.close();
  }, 40_000);
});
