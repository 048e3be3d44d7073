/**
 * A simulated central platform: subscribes to a gateway's upstream topics on the platform's
 * broker and sends it signed commands, as a real platform would. Tests and testers use it.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { signCommand, type Command, type CommandName, type Reply } from '../contracts/commands.js';

export type CommandFields = Partial<Omit<Command, 'auth'>> & {
  /** Sign with this secret instead (e.g. a wrong one). */
  secret?: string;
};

export class SimulatedPlatform {
  private readonly replies: Reply[] = [];

  private constructor(
    private readonly client: MqttClient,
    private readonly secret: string,
  ) {
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/reply')) this.replies.push(JSON.parse(payload.toString()) as Reply);
    });
  }

  static async connect(url: string, secret: string, auth?: { username: string; password: string }): Promise<SimulatedPlatform> {
    const client = await mqtt.connectAsync(url, { clientId: `platform-${randomUUID().slice(0, 8)}`, reconnectPeriod: 500, ...auth });
    await client.subscribeAsync('gridedge/v1/+/+/reply', { qos: 1 });
    return new SimulatedPlatform(client, secret);
  }

  /** Sends a signed command to the gateway at `root` (gridedge/v1/{grid}/{gatewayId}) and waits for its reply. */
  async command(root: string, name: CommandName | string, fields: CommandFields = {}, timeoutMs = 5000): Promise<Reply> {
    const { secret = this.secret, ...rest } = fields;
    const body: Omit<Command, 'auth'> = { correlationId: randomUUID(), issuedAt: new Date().toISOString(), ...rest };
    const payload = JSON.stringify({ ...body, auth: signCommand(secret, name, body) });
    return this.send(root, name, payload, body.correlationId, timeoutMs);
  }

  /** Publishes any payload as a command and waits for the reply carrying `correlationId` (or null). */
  async send(root: string, name: string, payload: string | Buffer, correlationId: string | null, timeoutMs = 5000): Promise<Reply> {
    const already = this.replies.length;
    await this.client.publishAsync(`${root}/cmd/${name}`, payload, { qos: 1 });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.replies.slice(already).find((r) => r.correlationId === correlationId);
      if (reply) return reply;
      if (Date.now() > deadline) throw new Error(`no reply to ${name} (${correlationId}) within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  repliesTo(correlationId: string): Reply[] {
    return this.replies.filter((r) => r.correlationId === correlationId);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
