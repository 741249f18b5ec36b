// Shared by the per-service hostile-case tables of the gRPC fuzz test: the case shape, the invalid-UTF-8 marker,
// the status sets every RPC may answer hostile input with.
import { status } from '@grpc/grpc-js';
import type { Rng } from '../../helpers/fuzz.js';

/** Placeholder replaced by invalid UTF-8 after encoding. */
export const MARK = 'ZQZQZQZQ';

/** How an event of an ingest case must be answered. */
export type EventExpectation = 'accepted' | 'rejected' | 'duplicate' | 'any';

export interface Case {
  cls: string;
  /** One message for unary and server-stream calls; the batches of a StreamEvents call. */
  messages: Buffer[];
  /** The status the call must end with; undefined: any of the method's allowed codes. */
  expect?: status;
  /** Ingest only: per message, per event, how it must be answered. */
  events?: EventExpectation[][];
}

export interface MethodCases {
  /** Error statuses this method may answer hostile input with (OK is always allowed). */
  allowed: status[];
  valid(rng: Rng): Buffer;
  hostile(rng: Rng, limits: { maxBatchEvents: number }): Case[];
}

export const S = status;
export const INPUT = [S.INVALID_ARGUMENT, S.RESOURCE_EXHAUSTED, S.UNAUTHENTICATED, S.PERMISSION_DENIED];
/** Open server streams are cancelled by the fuzzer after the first message, or end at its deadline. */
export const STREAM_END = [S.CANCELLED, S.DEADLINE_EXCEEDED];

export const buf = (u: Uint8Array): Buffer => Buffer.from(u);

export const YEAR_MS = 365 * 86_400_000;
export const HOUR_MS = 3_600_000;
