/**
 * A batch the server refuses (a type conflict, a malformed line) is sent again in halves, down
 * to single lines, so the refused lines are found and every other line is stored: one poisoned
 * reading never blocks the rest (the server may already have kept the good lines of a partial
 * write; points are idempotent, so sending them again changes nothing).
 */
import { isRefusal } from './target.js';

export interface Refused {
  line: string;
  reason: string;
}

/**
 * Sends `lines` through `send`; resolves to the lines refused one by one, with the server's reason.
 * An error that is not a refusal (the server unreachable, 5xx) is thrown with the lines not yet
 * sent, so the caller can keep them for later.
 */
export async function sendSplitting(send: (lines: string[]) => Promise<void>, lines: string[]): Promise<Refused[]> {
  const refused: Refused[] = [];
  const todo: string[][] = [lines];
  while (todo.length) {
    const batch = todo.shift()!;
    try {
      await send(batch);
    } catch (err) {
      if (!isRefusal(err)) throw Object.assign(err as Error, { unsent: [batch, ...todo].flat(), refused });
      if (batch.length === 1) refused.push({ line: batch[0]!, reason: (err as Error).message });
      else {
        const half = Math.ceil(batch.length / 2);
        todo.unshift(batch.slice(0, half), batch.slice(half));
      }
    }
  }
  return refused;
}

/** What a failed sendSplitting left: the lines not sent (all, if it failed at once), and those refused before it failed. */
export function leftOver(err: unknown, all: string[]): { unsent: string[]; refused: Refused[] } {
  const e = err as { unsent?: string[]; refused?: Refused[] } | undefined;
  return { unsent: e?.unsent ?? all, refused: e?.refused ?? [] };
}
