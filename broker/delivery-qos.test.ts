import { describe, expect, it } from 'vitest';
import { filterMatches, grantedQos } from './delivery-qos.js';

describe('topic filters', () => {
  it('match as MQTT says, $-topics only by filters that name them', () => {
    expect(filterMatches('dev/#', 'dev/a/telemetry')).toBe(true);
    expect(filterMatches('dev/#', 'dev')).toBe(true);
    expect(filterMatches('dev/+/telemetry', 'dev/a/telemetry')).toBe(true);
    expect(filterMatches('dev/+/telemetry', 'dev/a/b/telemetry')).toBe(false);
    expect(filterMatches('dev/+', 'dev/a/telemetry')).toBe(false);
    expect(filterMatches('#', '$SYS/x')).toBe(false);
    expect(filterMatches('$SYS/#', '$SYS/x')).toBe(true);
  });

  it('give the highest QoS granted among the matching subscriptions', () => {
    const subs = { 'dev/#': { qos: 0 }, 'dev/+/telemetry': { qos: 1 }, 'other/#': { qos: 2 }, '$share/g/dev/a/event': { qos: 2 } };
    expect(grantedQos(subs, 'dev/a/telemetry')).toBe(1);
    expect(grantedQos(subs, 'dev/a/status')).toBe(0);
    expect(grantedQos(subs, 'dev/a/event')).toBe(2);
    expect(grantedQos(subs, 'nowhere')).toBe(-1);
  });
});
