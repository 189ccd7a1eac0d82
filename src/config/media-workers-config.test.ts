import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config.ts';

describe('--media-workers', () => {
  it('defaults to one worker per core; 0 keeps the media on the main thread', () => {
    expect(configSchema.parse({}).mediaWorkers).toBe(Math.min(64, availableParallelism()));
    expect(configSchema.parse({ mediaWorkers: '0' }).mediaWorkers).toBe(0);
    expect(configSchema.parse({ mediaWorkers: '3' }).mediaWorkers).toBe(3);
  });
});
