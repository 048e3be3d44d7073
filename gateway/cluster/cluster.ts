/**
 * One node of an HA pair: two gateway nodes share broker state, incidents, the outbox and each
 * device's rule state through Redis, so devices may connect to either and either can carry on
 * alone. This module holds what coordinates them:
 *
 * - the **lock**: every incident change (raise, fold, resolve, command, deadline) runs inside it,
 *   after catching up with what the other node wrote, so a repeat folds into the same incident
 *   whichever node sees it, and seqs stay one gap-free sequence;
 * - the **lease**: one node at a time is the leader, which alone runs the uplink to the
 *   platform, deadlines, outbox expiry and compaction, and offline checks. A leader that cannot
 *   renew steps down before its lease runs out; the other takes over once it has.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/log.js';
import { RedisLog } from '../outbox/redis-log.js';
import { maskUrl } from '../../core/secrets.js';
import type { Counters } from '../../core/counters.js';

export interface ClusterOptions {
  /** redis://[:password@]host:port[/db] */
  url: string;
  gatewayId: string;
  /** This node's name in the pair (logs, $SYS, the lease's holder). */
  node: string;
  leaseMs: number;
  log: Logger;
  counters: Counters;
}

/** Deletes the key only if it still holds our token: a lock or lease that expired is not ours to drop. */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

const LOCK_MS = 5000;
const LOCK_WAIT_MS = 15_000;

interface Job {
  change: () => unknown;
  /** Hold the lock until the change's promise settles (compaction), not only while it runs. */
  wait: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class Cluster {
  readonly redis: Redis;
  /** This process: a node restarted is a new instance (its old records are replayed like anyone's). */
  readonly instance: string;
  readonly prefix: string;
  readonly log: RedisLog;
  private leaderNow = false;
  private lastRenewed = 0;
  private leaseTimer?: NodeJS.Timeout;
  private readonly leadershipListeners: Array<(leader: boolean) => void> = [];
  private readonly queue: Job[] = [];
  private draining = false;

  constructor(private readonly opts: ClusterOptions) {
    this.instance = `${opts.node}-${randomBytes(4).toString('hex')}`;
    this.prefix = `gridedge:${opts.gatewayId}`;
    // Commands wait while Redis is away (reconnecting), but not for ever: a device then gets no PUBACK and resends.
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 2, connectionName: `gridedge-${this.instance}` });
    // Reconnect attempts fail every second or two while Redis is away: said once, then every half minute.
    let saidAt = 0;
    this.redis.on('error', (err: Error) => {
      if (Date.now() - saidAt < 30_000) return;
      saidAt = Date.now();
      opts.log.warn({ where: maskUrl(opts.url), err: err.message }, 'redis connection error (retrying)');
    });
    this.redis.on('ready', () => {
      if (saidAt) opts.log.warn({ where: maskUrl(opts.url) }, 'redis reachable again');
      saidAt = 0;
    });
    this.log = new RedisLog({
      redis: this.redis,
      key: `${this.prefix}:outbox`,
      instance: this.instance,
      onError: (err) => opts.log.warn({ err: err.message }, 'shared outbox read or write failed'),
    });
  }

  get leader(): boolean {
    return this.leaderNow;
  }

  /** Whether the connection to Redis is up right now. */
  get reachable(): boolean {
    return this.redis.status === 'ready';
  }

  /** Connects and says whether Redis keeps what it acknowledges (AOF with fsync on every write). */
  async connect(): Promise<void> {
    const { log, url } = this.opts;
    if (this.redis.status !== 'ready') {
      const timeout = AbortSignal.timeout(10_000);
      try {
        await once(this.redis, 'ready', { signal: timeout });
      } catch {
        throw new Error(
          `cannot reach redis at ${maskUrl(url)} (cluster.redis) within 10 s: is it running, and are the address and password right?`,
        );
      }
    }
    try {
      const aof = (await this.redis.config('GET', 'appendonly')) as string[];
      const fsync = (await this.redis.config('GET', 'appendfsync')) as string[];
      if (aof[1] !== 'yes' || fsync[1] !== 'always') {
        log.warn(
          { appendonly: aof[1], appendfsync: fsync[1] },
          'redis does not fsync every write (appendonly yes, appendfsync always): incidents it acknowledged may be lost if it crashes',
        );
      }
    } catch {
      // CONFIG may be disabled (a managed Redis): nothing to say then.
    }
    log.info({ redis: maskUrl(url), node: this.opts.node, instance: this.instance }, 'joined the HA pair');
  }

  /**
   * Runs `change` with the pair's incidents to itself: takes the lock, catches up with the other
   * node's records, runs every change queued meanwhile (their writes are sent on the lock's
   * connection, so they land before the release), then releases.
   */
  exclusive<T>(change: () => T): Promise<T> {
    return this.enqueue(change, false);
  }

  /** `exclusive` for an asynchronous change: the lock is held until it settles. */
  exclusiveAsync<T>(change: () => Promise<T>): Promise<T> {
    return this.enqueue(change, true) as Promise<T>;
  }

  private enqueue<T>(change: () => T, wait: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ change, wait, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length) {
      const token = randomBytes(8).toString('hex');
      const batch = this.queue.splice(0);
      try {
        await this.acquire(token);
      } catch (err) {
        for (const job of batch) job.reject(err);
        continue;
      }
      try {
        await this.log.catchUp();
        for (const job of batch) {
          try {
            const result = job.change();
            if (job.wait) await result;
            job.resolve(result);
          } catch (err) {
            job.reject(err);
          }
        }
      } catch (err) {
        for (const job of batch) job.reject(err);
      } finally {
        await this.redis.eval(RELEASE, 1, `${this.prefix}:lock`, token).catch(() => undefined);
      }
    }
    this.draining = false;
  }

  private async acquire(token: string): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      if ((await this.redis.set(`${this.prefix}:lock`, token, 'PX', LOCK_MS, 'NX')) === 'OK') return;
      this.opts.counters.inc('cluster_lock_waits_total');
      if (Date.now() > deadline) throw new Error(`the HA pair's lock was not free within ${LOCK_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Called with true when this node becomes the leader, false when it stops being one. */
  onLeadership(listener: (leader: boolean) => void): void {
    this.leadershipListeners.push(listener);
  }

  /** Tries for the lease now and then every third of it; renews while holding it. */
  startLease(): void {
    const tick = () => void this.leaseTick();
    tick();
    this.leaseTimer = setInterval(tick, Math.max(100, Math.floor(this.opts.leaseMs / 3)));
    this.leaseTimer.unref();
  }

  private async leaseTick(): Promise<void> {
    const key = `${this.prefix}:leader`;
    const { leaseMs, log } = this.opts;
    try {
      if (this.leaderNow) {
        if (await this.redis.eval(RENEW, 1, key, this.instance, String(leaseMs))) this.lastRenewed = Date.now();
        else this.setLeader(false, 'the lease was taken');
      } else if ((await this.redis.set(key, this.instance, 'PX', leaseMs, 'NX')) === 'OK') {
        this.lastRenewed = Date.now();
        this.setLeader(true, 'lease acquired');
      }
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'lease renewal failed');
    }
    // Unable to renew: step down before the lease can expire and the other node take it.
    if (this.leaderNow && Date.now() - this.lastRenewed > leaseMs * 0.7) this.setLeader(false, 'could not renew the lease');
  }

  private setLeader(leader: boolean, why: string): void {
    if (leader === this.leaderNow) return;
    this.leaderNow = leader;
    this.opts.counters.inc('cluster_leadership_changes_total', { to: leader ? 'leader' : 'follower' });
    this.opts.log.warn(
      { node: this.opts.node, leader, why },
      leader ? 'this node now leads the HA pair (uplink, deadlines, offline checks)' : 'this node no longer leads the HA pair',
    );
    for (const l of this.leadershipListeners) l(leader);
  }

  /** A device's rule memory (hysteresis and the like), as either node last stored it. */
  async loadRules(deviceId: string): Promise<Record<string, unknown> | undefined> {
    const text = await this.redis.hget(`${this.prefix}:rules`, deviceId);
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  }

  saveRules(deviceId: string, json: string): Promise<void> {
    return this.redis.hset(`${this.prefix}:rules`, deviceId, json).then(() => undefined);
  }

  private readonly seenWritten = new Map<string, number>();

  /** When a device was last heard, shared at most every few seconds per device (the leader's offline checks read it). */
  seen(deviceId: string, at: number): void {
    if (at - (this.seenWritten.get(deviceId) ?? 0) < 5000) return;
    this.seenWritten.set(deviceId, at);
    this.redis.hset(`${this.prefix}:seen`, deviceId, String(at)).catch(() => undefined);
  }

  async lastSeen(): Promise<Map<string, number>> {
    const all = await this.redis.hgetall(`${this.prefix}:seen`);
    return new Map(Object.entries(all).map(([id, at]) => [id, Number(at)]));
  }

  /** Gives the lease up (the other node takes over at once) and disconnects. */
  async stop(): Promise<void> {
    clearInterval(this.leaseTimer);
    if (this.leaderNow) {
      await this.redis.eval(RELEASE, 1, `${this.prefix}:leader`, this.instance).catch(() => undefined);
      this.setLeader(false, 'stopping');
    }
    await this.log.close();
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
