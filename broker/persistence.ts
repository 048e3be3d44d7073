/**
 * Where the broker keeps sessions, subscriptions and queued QoS 1 messages: on disk (LevelDB)
 * for one gateway, in Redis for an HA pair (aedes-persistence-redis, with messages between the
 * two nodes' clients over mqemitter-redis), in memory when neither is configured.
 */
import type { AedesOptions } from 'aedes';
import levelPersistence from 'aedes-persistence-level';
import redisPersistence from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import { Level } from 'level';
import MQEmitterRedis from 'mqemitter-redis';
import type { Logger } from '../core/log.js';

export interface BrokerPersistence {
  aedes: Pick<AedesOptions, 'persistence' | 'mq'>;
  close(): Promise<void>;
}

export async function openPersistence(opts: { persistenceDir?: string; redisUrl?: string }, log: Logger): Promise<BrokerPersistence> {
  if (opts.redisUrl) {
    const url = opts.redisUrl;
    // Our own connections, so a Redis outage is logged once per connection, not printed as unhandled.
    const connect = (role: string) => {
      const c = new Redis(url, { maxRetriesPerRequest: 2 });
      c.on('error', (err: Error) => log.debug({ role, err: err.message }, 'broker redis connection error'));
      return c;
    };
    const conn = connect('persistence');
    const mq = new (MQEmitterRedis as unknown as new (o: MQEmitterRedis.MQEmitterOptions) => MQEmitterRedis.MQEmitterRedis)({
      pubConn: connect('publish'),
      subConn: connect('subscribe'),
    });
    // mqemitter-redis re-emits its connections' errors on `state`; unheard, one Redis outage would end the process.
    (mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', (err: Error) =>
      log.debug({ err: err.message }, 'broker message bus: redis error'),
    );
    return {
      aedes: { persistence: redisPersistence({ conn }), mq } as BrokerPersistence['aedes'],
      // Not persistence.destroy(): it unsubscribes through the broker's emitter, closed by now, and never returns.
      close: async () => void conn.disconnect(),
    };
  }
  if (opts.persistenceDir) {
    const db = new Level<string, Buffer>(opts.persistenceDir, { valueEncoding: 'binary' });
    await db.open();
    return { aedes: { persistence: levelPersistence(db) } as BrokerPersistence['aedes'], close: () => db.close() };
  }
  return { aedes: {}, close: async () => undefined };
}
