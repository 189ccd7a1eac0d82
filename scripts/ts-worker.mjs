// Starts a TypeScript worker entry when the sources run untranspiled (tsx, vitest): tsx is
// registered in the worker first. The compiled server starts its .js workers directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
