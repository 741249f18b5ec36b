// Per-stage CPU cost of the ingest path, in microseconds per event, measured in isolation on this machine:
// decoding a gRPC batch, validating, encoding the EventGroup for JetStream, decoding it again (consumers).
// Run: npx tsx bench/stages.ts
import { validateEvent } from '../core/validation/event.js';
import { StreamEventsRequest } from '../proto/gen/portstream/v1/ingest.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';
import { benchBatch, benchLoad } from './harness/events.js';

const N = 500;
const ROUNDS = 400;
const events = benchBatch(benchLoad('stage', 0), 0, N);
const wire = StreamEventsRequest.encode({ batchId: 'x', events }).finish();
const limits = { maxFutureSkewMs: 300_000, maxPlanAheadMs: 366 * 86_400_000, maxAgeMs: 366 * 86_400_000 };

function time(label: string, fn: () => void): void {
  for (let i = 0; i < 20; i++) fn();
  const t = performance.now();
  for (let i = 0; i < ROUNDS; i++) fn();
  const us = ((performance.now() - t) * 1000) / (ROUNDS * N);
  console.log(`${label.padEnd(40)} ${us.toFixed(3)} us/event`);
}

const now = Date.now();
const group = EventGroup.encode({ receivedTime: new Date(), source: 'x', events }).finish();
time('decode gRPC batch (StreamEventsRequest)', () => StreamEventsRequest.decode(wire));
time('validate', () => {
  for (const e of events) validateEvent(e, now, limits);
});
time('encode EventGroup', () =>
  EventGroup.encode({ receivedTime: new Date(), source: 'x', events }).finish(),
);
time('decode EventGroup (consumer side)', () => EventGroup.decode(group));
console.log(`wire size ${(wire.length / N).toFixed(0)} B/event`);
