/** GB/T 28181 settings for tests: the service on loopback, a free port, short limits where a test needs them. */
import type { Gb28181Settings } from '../../devices/gb28181/config.js';

export const GATEWAY_SIP_ID = '11010500012000000001';
export const DOMAIN = '1101050001';
export const NVR_ID = '11010500011180000001';
export const CHANNEL_IDS = ['11010500011310000001', '11010500011310000002', '11010500011310000003'];
export const IPC_ID = '11010500011320000009';

export function gbSettings(over: Partial<Gb28181Settings> = {}): Gb28181Settings {
  return {
    sipId: GATEWAY_SIP_ID,
    domain: DOMAIN,
    host: '127.0.0.1',
    port: 0,
    transports: ['udp', 'tcp'],
    publicHost: '127.0.0.1',
    minExpires: 60,
    maxExpires: 86_400,
    keepaliveSeconds: 60,
    acceptUnlisted: false,
    media: { portMin: 31000, portMax: 31999, transport: 'udp' },
    limits: { registersPerMinute: 120, invitesPerMinute: 60, messagesPerMinute: 6000, maxStreams: 64 },
    devices: [],
    cascade: [],
    timezone: 'Asia/Shanghai',
    grid: '110105001002000',
    ...over,
  };
}
