// Closed-loop ingest load: streams of batches over StreamEvents, a window of batches in flight per stream,
// as fast as the gateway acknowledges them, for a fixed duration. Counts acked events and keeps their ids; every
// answer goes to the load's account (load-account.ts), which fails the run on anything but ACCEPTED.
import type { Interceptor } from '@grpc/grpc-js';
import { credentials, InterceptingCall } from '@grpc/grpc-js';
import {
  EventStatus,
  IngestServiceClient,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { benchBatch, benchLoad } from './events.js';
import { LoadAccount } from './load-account.js';
import { openLoop } from './schedule.js';

export interface IngestLoadOptions {
  address: string;
  token: string;
  runId: string;
  /** The load's container range (events.ts LOAD_SLOTS): loads of one run must use different slots. */
  slot: number;
  durationMs: number;
  batchSize: number;
  streams: number;
  window: number;
  onProgress?: (acked: number) => void;
}

export interface IngestLoadResult {
  acked: number;
  rejected: number;
  elapsedMs: number;
  /** Events sent: ids are `${runId}-${seq}` for seq < sent. */
  sent: number;
  /** 1 where the event with that sequence number was answered ACCEPTED or DUPLICATE. */
  ackedMap: Uint8Array;
  account: LoadAccount;
}

function bearer(token: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, n) {
        metadata.set('authorization', `Bearer ${token}`);
        n(metadata, listener);
      },
    });
}

export async function ingestLoad(o: IngestLoadOptions): Promise<IngestLoadResult> {
  const client = new IngestServiceClient(o.address, credentials.createInsecure(), {
    interceptors: [bearer(o.token)],
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const load = benchLoad(o.runId, o.slot);
  const account = new LoadAccount('ingest', 'events');
  let nextSeq = 0;
  let acked = 0;
  let rejected = 0;
  const ackedBatches: [first: number, statuses: EventStatus[]][] = [];
  const start = performance.now();
  const end = start + o.durationMs;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const call = client.streamEvents();
      let inflight = 0;
      let ended = false;
      const pump = (): void => {
        while (!ended && inflight < o.window) {
          if (performance.now() >= end) {
            ended = true;
            call.end();
            return;
          }
          const first = nextSeq;
          nextSeq += o.batchSize;
          call.write({ batchId: String(first), events: benchBatch(load, first, o.batchSize) });
          account.offered += o.batchSize;
          inflight++;
        }
      };
      call.on('data', (r: StreamEventsResponse) => {
        inflight--;
        const statuses = r.results.map((x) => x.status);
        ackedBatches.push([Number(r.batchId), statuses]);
        for (const x of r.results) {
          account.event(x);
          if (x.status === EventStatus.REJECTED) rejected++;
          else acked++;
        }
        o.onProgress?.(acked);
        pump();
      });
      call.on('end', () => {
        resolve();
      });
      call.on('error', (e: Error) => {
        account.error(`the StreamEvents call failed: ${e.message}`, 0);
        reject(e);
      });
      pump();
    });
  await Promise.all(Array.from({ length: o.streams }, one));
  const elapsedMs = performance.now() - start;
  client.close();
  const ackedMap = new Uint8Array(nextSeq);
  for (const [first, statuses] of ackedBatches) {
    statuses.forEach((s, j) => {
      if (s !== EventStatus.REJECTED) ackedMap[first + j] = 1;
    });
  }
  return { acked, rejected, elapsedMs, sent: nextSeq, ackedMap, account };
}

/** Background event load at a fixed rate (open model) on one stream, e.g. while clearance is measured. */
export async function ingestBackground(o: {
  address: string;
  token: string;
  runId: string;
  /** The load's container range (events.ts LOAD_SLOTS). */
  slot: number;
  /** Names the load in its account and in the first problem's reason. */
  scenario: string;
  eventsPerSec: number;
  durationMs: number;
  batchSize: number;
}): Promise<{ acked: number; error?: string; account: LoadAccount }> {
  const client = new IngestServiceClient(o.address, credentials.createInsecure(), {
    interceptors: [bearer(o.token)],
  });
  const load = benchLoad(o.runId, o.slot);
  const account = new LoadAccount(o.scenario, 'events');
  const call = client.streamEvents();
  let acked = 0;
  call.on('data', (r: StreamEventsResponse) => {
    for (const x of r.results) {
      account.event(x);
      if (x.status !== EventStatus.REJECTED) acked++;
    }
  });
  // Settles either way: a failed background stream is reported, not thrown while the foreground runs.
  const ended = new Promise<string | undefined>((resolve) => {
    call.on('end', () => {
      resolve(undefined);
    });
    call.on('error', (e: Error) => {
      resolve(e.message);
    });
  });
  await openLoop(o.eventsPerSec / o.batchSize, o.durationMs, (i) => {
    const first = i * o.batchSize;
    call.write({ batchId: String(first), events: benchBatch(load, first, o.batchSize) });
    account.offered += o.batchSize;
  });
  call.end();
  const error = await ended;
  client.close();
  if (error !== undefined) account.error(`the StreamEvents call failed: ${error}`, 0);
  return error === undefined ? { acked, account } : { acked, error, account };
}
