import { startMosquitto, startVictoriaMetrics } from '../test/helpers/servers.ts';
import { UpstreamSubscriber } from '../test/helpers/upstream.ts';
const m = await startMosquitto({ users: { a: 'bbbbbbbb' } });
const v = await startVictoriaMetrics();
const p = await UpstreamSubscriber.connect(m.url, '#', { username: 'a', password: 'bbbbbbbb' });
let t = Date.now();
await p.close(); console.log('platform', Date.now() - t); t = Date.now();
await m.stop(); console.log('mosq', Date.now() - t); t = Date.now();
await v.stop(); console.log('vm', Date.now() - t);
