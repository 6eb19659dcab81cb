// What every route needs, built once by server.ts: the queues, the finding store, the metrics and
// the schedule (if configured). Routes get it as an argument; none reads the environment.
import type { Redis } from 'ioredis';
import type { AccessPolicy } from '../access/policy.js';
import type { JobQueues } from '../workers/queue.js';
import type { Schedule } from '../workers/scheduler.js';
import type { FindingStore } from '../workers/store.js';
import type { ServiceMetrics } from './metrics.js';

export interface ApiContext {
  redis: Redis;
  queues: JobQueues;
  store: FindingStore;
  metrics: ServiceMetrics;
  schedule: Schedule | null;
  /** Milliseconds /readyz waits for Redis to answer PING. */
  readyTimeoutMs: number;
  /** What a submitted job may read and fetch (checked again by the worker). */
  access: AccessPolicy;
}
