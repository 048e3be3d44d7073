// Running from TypeScript sources (tests, `tsx`): a worker thread does not inherit tsx's loader,
// so register it here and load the real worker. Built code starts worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);
