// Sink metrics in their own prom-client registry, so the API's /metrics can merge them
// (Registry.merge) without the sink depending on the API.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface SinkMetrics {
  registry: Registry;
  rowsInserted: Counter<'table'>;
  duplicatesSkipped: Counter<'table'>;
  inserts: Counter<'table'>;
  insertErrors: Counter<'table'>;
  insertSeconds: Histogram<'table'>;
  poisonMessages: Counter<'stream'>;
  lag: Gauge<'stream'>;
  batchRows: Gauge<'table'>;
}

export function createSinkMetrics(registry = new Registry()): SinkMetrics {
  const registers = [registry];
  return {
    registry,
    rowsInserted: new Counter({
      name: 'portstream_sink_rows_inserted_total',
      help: 'Rows the sink wrote to ClickHouse',
      labelNames: ['table'],
      registers,
    }),
    duplicatesSkipped: new Counter({
      name: 'portstream_sink_duplicates_skipped_total',
      help: 'Rows not written because their key was already in ClickHouse or earlier in the batch',
      labelNames: ['table'],
      registers,
    }),
    inserts: new Counter({
      name: 'portstream_sink_inserts_total',
      help: 'INSERT statements ClickHouse accepted',
      labelNames: ['table'],
      registers,
    }),
    insertErrors: new Counter({
      name: 'portstream_sink_insert_errors_total',
      help: 'Failed insert attempts (each is retried with backoff)',
      labelNames: ['table'],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'portstream_sink_insert_seconds',
      help: 'Time to write one batch (key lookup and INSERT)',
      labelNames: ['table'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    poisonMessages: new Counter({
      name: 'portstream_sink_poison_messages_total',
      help: 'Messages that could not be decoded, terminated and dead-lettered',
      labelNames: ['stream'],
      registers,
    }),
    lag: new Gauge({
      name: 'portstream_sink_consumer_lag',
      help: 'Messages in the stream not yet delivered to the sink consumer',
      labelNames: ['stream'],
      registers,
    }),
    batchRows: new Gauge({
      name: 'portstream_sink_batch_rows',
      help: 'Rows waiting in the current batch',
      labelNames: ['table'],
      registers,
    }),
  };
}
