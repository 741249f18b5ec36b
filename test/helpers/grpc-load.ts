// Steady load for fault tests: a terminal streaming event batches over one StreamEvents call, and customs
// submitting declarations at a fixed pace (an open model: a slow answer does not slow the arrivals). Each
// records what the system answered, so a test can check that everything answered as accepted was kept.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type {
  ClearanceStatus,
  CustomsServiceClient,
  Declaration,
  SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import {
  EventStatus,
  type IngestServiceClient,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { discBatch } from '../../test-kit/events.js';

export interface EventLoad {
  /** Event ids answered ACCEPTED, in answer order. */
  readonly accepted: string[];
  readonly batchesWritten: number;
  readonly batchesAnswered: number;
  /** How the call ended, if it ended before stop(). */
  readonly error: ServiceError | undefined;
  /** Stops writing, half-closes the call and waits for every answer. */
  stop(): Promise<void>;
}

/** Writes a batch of batchEvents DISC events every intervalMs (ids `${prefix}<batch>-<i>`), honouring write(). */
export function streamEventsAtPace(
  client: IngestServiceClient,
  prefix: string,
  opts: { batchEvents: number; intervalMs: number; serialBase?: number },
): EventLoad {
  const call = client.streamEvents();
  const accepted: string[] = [];
  let written = 0;
  let answered = 0;
  let error: ServiceError | undefined;
  let blocked = false;
  call.on('data', (r: StreamEventsResponse) => {
    answered++;
    for (const x of r.results) if (x.status === EventStatus.ACCEPTED) accepted.push(x.eventId);
  });
  const ended = new Promise<void>((resolve) => {
    call.on('error', (e: ServiceError) => {
      error = e;
      resolve();
    });
    call.on('end', () => {
      resolve();
    });
  });
  const timer = setInterval(() => {
    if (blocked || error) return;
    const i = written++;
    const events = discBatch(
      `${prefix}${i}`,
      opts.batchEvents,
      (opts.serialBase ?? 0) + i * opts.batchEvents,
    );
    if (!call.write({ batchId: `${prefix}${i}`, events })) {
      blocked = true;
      call.once('drain', () => (blocked = false));
    }
  }, opts.intervalMs);
  return {
    accepted,
    get batchesWritten() {
      return written;
    },
    get batchesAnswered() {
      return answered;
    },
    get error() {
      return error;
    },
    async stop() {
      clearInterval(timer);
      if (!error) call.end();
      await ended;
    },
  };
}

export interface Submission {
  declarationNumber: string;
  /** Label of the test phase the submission started in. */
  phase: string;
  latencyMs?: number;
  status?: ClearanceStatus;
  /** The answer carried the decision (not PENDING at the deadline). */
  decided: boolean;
  error?: ServiceError;
}

export interface DeclarationLoad {
  readonly submissions: Submission[];
  /** Stops submitting and waits for every submission in flight to be answered. */
  stop(): Promise<void>;
}

export function submitAtPace(
  client: CustomsServiceClient,
  next: () => Declaration,
  opts: { intervalMs: number; phase: () => string; deadlineMs?: number },
): DeclarationLoad {
  const submissions: Submission[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const declaration = next();
    const s: Submission = {
      declarationNumber: declaration.declarationNumber,
      phase: opts.phase(),
      decided: false,
    };
    submissions.push(s);
    const started = performance.now();
    const p = new Promise<void>((resolve) => {
      client.submitDeclaration(
        { declaration },
        new Metadata(),
        { deadline: Date.now() + (opts.deadlineMs ?? 10_000) },
        (err: ServiceError | null, res?: SubmitDeclarationResponse) => {
          s.latencyMs = performance.now() - started;
          if (err) s.error = err;
          else if (res) {
            s.status = res.status;
            s.decided = res.decision !== undefined;
          }
          resolve();
        },
      );
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  }, opts.intervalMs);
  return {
    submissions,
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
    },
  };
}

/** p50 / p99 / max of the latencies, in milliseconds, for a test's report line. */
export function latencySummary(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}
