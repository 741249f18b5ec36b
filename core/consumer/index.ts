// The consumer runtime: durable specs and set-up, the pull loop with its failure policy, dead letters, metrics.
export { ConsumerError, FailureKind } from './errors.js';
export {
  deadLetter,
  deadLetterRecord,
  parseDeadLetter,
  type DeadLetterCause,
  type DeadLetterRecord,
} from './dead-letter.js';
export * from './durable.js';
export { consumerMetrics, type ConsumerMetrics } from './metrics.js';
export {
  PULL_CUT_GRACE_MS,
  PULL_IDLE_CHECK_MS,
  retryDelayMs,
  startConsumer,
  type BatchContext,
  type BatchHandler,
  type BatchOutcome,
  type ConsumerHandle,
  type ConsumerOptions,
  type Item,
} from './runtime.js';
