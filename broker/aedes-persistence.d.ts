/** The one call gridedge makes of aedes-persistence-level, which ships no types. */
declare module 'aedes-persistence-level' {
  import type { Level } from 'level';
  export default function levelPersistence(db: Level<string, Buffer>): unknown;
}

/** The one call gridedge makes of aedes-persistence-redis (an HA pair's shared sessions), which ships no types. */
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  export default function redisPersistence(opts: { conn: Redis; maxSessionDelivery?: number }): unknown;
}
