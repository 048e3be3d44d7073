/**
 * Where the outbox keeps its records: a file on the gateway's disk (file-log.ts), or a Redis
 * stream shared by the nodes of an HA pair (redis-log.ts). The outbox holds the state in memory
 * and decides; a log only stores records, replays them at start-up and, when shared, hands over
 * the records the other node wrote.
 */
import type { IncidentMessage } from '../../contracts/incident.js';

export type DropReason = 'full' | 'expired';

export type LogRecord =
  | { t: 'put'; seq: number; lane: number; at: number; m: IncidentMessage }
  | { t: 'ack'; seq: number }
  | { t: 'drop'; seq: number; reason: DropReason }
  /** After a compaction: the last seq used. */
  | { t: 'meta'; lastSeq: number }
  /** After a compaction: the latest message of an incident not yet closed. */
  | { t: 'state'; m: IncidentMessage }
  /** A shared log's compaction starts here: forget everything before, the records after are all there is. */
  | { t: 'reset'; lastSeq: number };

/** What a log may ask of the outbox it stores. */
export interface OutboxState {
  /** Everything that still matters, as records: what a compaction keeps. `all`: pending entries not yet durable too. */
  snapshot(all: boolean): LogRecord[];
  pendingBytes(): number;
  /** A record another node wrote to a shared log. */
  apply(record: LogRecord): void;
}

export interface OutboxLog {
  /** Records that could not be read back (a torn or corrupt line). */
  readonly corruptRecords: number;
  /** What the log holds from before, oldest first; a file answers synchronously at start-up. */
  load(state: OutboxState): LogRecord[] | Promise<LogRecord[]>;
  /** Appends one record; with `waitDurable`, resolves once it survives a crash. */
  append(record: LogRecord, waitDurable: boolean): Promise<void>;
  /** Writes out anything buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
