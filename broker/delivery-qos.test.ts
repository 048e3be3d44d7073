import { describe, expect, it } from 'vitest';
import { grantedQos } from './delivery-qos.js';

describe('granted QoS', () => {
  it('give the highest QoS granted among the matching subscriptions', () => {
    const subs = { 'dev/#': { qos: 0 }, 'dev/+/telemetry': { qos: 1 }, 'other/#': { qos: 2 }, '$share/g/dev/a/event': { qos: 2 } };
    expect(grantedQos(subs, 'dev/a/telemetry')).toBe(1);
    expect(grantedQos(subs, 'dev/a/status')).toBe(0);
    expect(grantedQos(subs, 'dev/a/event')).toBe(2);
    expect(grantedQos(subs, 'nowhere')).toBe(-1);
    expect(grantedQos({ '#': { qos: 2 } }, '$SYS/gridedge/uptime')).toBe(-1); // $-topics only by filters that name them
  });
});
