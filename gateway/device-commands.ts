/**
 * Commands the gateway sends to devices (a gas valve to shut, a reply a drone asked for), and
 * the device's answers. A command that expects a reply is tracked: its outcome (confirmed,
 * failed, no reply in time) is written onto the incident that caused it, so the centre sees
 * whether the valve really closed.
 */
import type { DeviceAction, DeviceInfo, DeviceKind, CommandReply } from '../devices/types.js';
import type { IncidentManager } from './incidents/manager.js';
import type { Logger } from '../core/log.js';
import type { Counters } from '../core/counters.js';

type Send = Extract<DeviceAction, { action: 'send' }>;

export type Publish = (topic: string, payload: Buffer) => Promise<void>;

export interface DeviceCommandsOptions {
  incidents: IncidentManager;
  counters: Counters;
  log: Logger;
}

interface Pending {
  timer: NodeJS.Timeout;
  correlationKey: string;
  fact: string;
}

export class DeviceCommands {
  private readonly pending = new Map<string, Pending>();
  private publish?: Publish;

  constructor(private readonly opts: DeviceCommandsOptions) {}

  /** Where commands go out (the embedded broker, made after the pipeline this serves). */
  publishVia(publish: Publish): void {
    this.publish = publish;
  }

  send(device: DeviceInfo, kind: DeviceKind, action: Send): void {
    const { counters, log, incidents } = this.opts;
    const pattern = kind.commands[action.command];
    if (!pattern) {
      log.error({ kind: kind.kind, command: action.command }, 'a rule asked for a command its kind does not declare');
      return;
    }
    const topic = pattern.replaceAll('{id}', device.id);
    counters.inc('device_commands_total', { kind: kind.kind, command: action.command });
    const reply = action.expectReply;
    if (reply) {
      const key = `${device.id}\u0000${reply.id}`;
      const timer = setTimeout(() => {
        this.pending.delete(key);
        counters.inc('device_command_timeouts_total', { kind: kind.kind });
        void incidents.annotate(reply.correlationKey, { [reply.fact]: `no reply within ${Math.round(reply.timeoutMs / 1000)} s` });
      }, reply.timeoutMs);
      timer.unref();
      this.pending.set(key, { timer, correlationKey: reply.correlationKey, fact: reply.fact });
      void incidents.annotate(reply.correlationKey, { [reply.fact]: 'sent' });
    }
    const publish = this.publish ?? (() => Promise.reject(new Error('the device broker is not set up')));
    publish(topic, Buffer.from(JSON.stringify(action.payload))).catch((err: unknown) => {
      log.warn({ device: device.id, topic, err: (err as Error).message }, 'command to device not sent');
    });
  }

  /** A device answered; returns false when nothing was waiting for this id. */
  reply(deviceId: string, reply: CommandReply): boolean {
    const key = `${deviceId}\u0000${reply.id}`;
    const pending = this.pending.get(key);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.pending.delete(key);
    void this.opts.incidents.annotate(pending.correlationKey, {
      [pending.fact]: reply.ok ? 'confirmed' : `failed${reply.detail ? `: ${reply.detail}` : ''}`,
    });
    return true;
  }

  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
