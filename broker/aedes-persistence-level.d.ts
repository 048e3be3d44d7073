/** The one call gridedge makes of aedes-persistence-level, which ships no types. */
declare module 'aedes-persistence-level' {
  import type { Level } from 'level';
  export default function levelPersistence(db: Level<string, Buffer>): unknown;
}
