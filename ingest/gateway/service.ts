// The IngestService gRPC handlers. StreamEvents pipelines batches: up to a window of batches is processed at
// once, answers are written in request order, and when the window is full (or the client does not read its
// answers) the gateway stops reading the stream, so grpc flow control pushes back on the client.
import {
  type Metadata,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Role, type Principal } from '../../core/auth/principal.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import { PortstreamError, ErrorCode } from '../../core/errors.js';
import { principalOf, requireRole } from '../../core/grpc/auth.js';
import { toServiceError } from '../../core/grpc/status.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import type { Logger } from '../../core/logger.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import {
  IngestServiceService,
  type PublishEventsRequest,
  type PublishEventsResponse,
  type StreamEventsRequest,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { processBatch, type BatchDeps } from './batch.js';

export interface IngestServiceOptions extends BatchDeps {
  auth: TokenAuthenticator;
  /** Batches one stream may have unanswered before the gateway stops reading it. */
  windowPerStream: number;
  /** Events per second per caller; a batch costs its number of events. */
  limiter: RateLimiter;
  log: Logger;
}

/** Open StreamEvents calls, so shutdown can stop them cleanly. */
export class IngestSessions {
  readonly active = new Set<StreamSession>();
  draining = false;

  /** Stop reading every stream, finish and answer what was read, then end each call with UNAVAILABLE. */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.active].map((s) => s.drain()));
  }
}

const PUBLISHERS = [Role.Operator, Role.Admin] as const;

/** The caller, if it may publish events at all; throws UNAUTHENTICATED / PERMISSION_DENIED otherwise. */
function publisherOf(auth: TokenAuthenticator, metadata: Metadata): Principal {
  const p = principalOf(auth, metadata);
  requireRole(p, PUBLISHERS, 'publish terminal events');
  return p;
}

class StreamSession {
  // Settled-style entries: a rejection is kept as a value so a failed later batch never goes unhandled
  // while an earlier one is still being answered.
  private readonly pending: Promise<StreamEventsResponse | { error: unknown }>[] = [];
  private writing = false;
  private ended = false;
  private closed = false;
  private draining = false;
  /** Set once a batch was refused (rate limit): nothing read after it is processed. */
  private refused = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly call: ServerDuplexStream<StreamEventsRequest, StreamEventsResponse>,
    private readonly opts: IngestServiceOptions,
    private readonly sessions: IngestSessions,
    principal: Principal,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    sessions.active.add(this);
    call.on('data', (req: StreamEventsRequest) => {
      if (this.closed || this.draining || this.refused) return;
      try {
        opts.limiter.take(principal.name, req.events.length);
      } catch (error) {
        // Batches read before this one are still answered; then the call ends with RESOURCE_EXHAUSTED and the
        // client re-sends this batch and any after it (same ids) once the retry time has passed.
        this.refused = true;
        call.pause();
        this.pending.push(Promise.resolve({ error }));
        void this.flush();
        return;
      }
      this.pending.push(
        processBatch(opts, req.events, principal).then(
          (results) => ({ batchId: req.batchId, results }),
          (error: unknown) => ({ error }),
        ),
      );
      if (this.pending.length >= opts.windowPerStream) call.pause();
      void this.flush();
    });
    call.on('end', () => {
      this.ended = true;
      void this.flush();
    });
    call.on('cancelled', () => {
      this.finish();
    });
    call.on('error', () => {
      this.finish();
    });
    if (sessions.draining) void this.drain();
  }

  /** Writes answers in order as they complete, waiting for 'drain' when the client is slow to read. */
  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (!this.closed && this.pending.length > 0) {
        const response = await (this.pending[0] as Promise<StreamEventsResponse | { error: unknown }>);
        if ('error' in response) {
          this.fail(response.error);
          return;
        }
        void this.pending.shift();
        // The call may have been cancelled while this batch was being persisted.
        if (this.isClosed()) return;
        if (!this.call.write(response)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              this.call.off('drain', done);
              this.call.off('close', done);
              resolve();
            };
            this.call.on('drain', done);
            this.call.on('close', done);
          });
        }
        if (this.pending.length < this.opts.windowPerStream && !this.draining) this.call.resume();
      }
      if (this.pending.length === 0 && !this.closed) {
        if (this.draining) {
          this.fail(
            new PortstreamError(ErrorCode.Unavailable, 'gateway is shutting down; reconnect and re-send'),
          );
        } else if (this.ended) {
          this.call.end();
          this.finish();
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.call.emit('error', toServiceError(err, this.opts.log));
    this.finish();
  }

  private finish(): void {
    this.closed = true;
    this.sessions.active.delete(this);
    this.resolveDone();
  }

  async drain(): Promise<void> {
    this.draining = true;
    this.call.pause();
    await this.flush();
    await this.done;
  }
}

export function createIngestService(opts: IngestServiceOptions): {
  registration: ServiceRegistration;
  sessions: IngestSessions;
} {
  const sessions = new IngestSessions();
  const implementation: UntypedServiceImplementation = {
    streamEvents: (call: ServerDuplexStream<StreamEventsRequest, StreamEventsResponse>) => {
      let principal: Principal;
      try {
        principal = publisherOf(opts.auth, call.metadata);
      } catch (err) {
        call.emit('error', toServiceError(err, opts.log));
        return;
      }
      new StreamSession(call, opts, sessions, principal);
    },
    publishEvents: (
      call: ServerUnaryCall<PublishEventsRequest, PublishEventsResponse>,
      callback: sendUnaryData<PublishEventsResponse>,
    ) => {
      if (sessions.draining) {
        callback({ code: status.UNAVAILABLE, details: 'gateway is shutting down' });
        return;
      }
      let principal: Principal;
      try {
        principal = publisherOf(opts.auth, call.metadata);
      } catch (err) {
        callback(toServiceError(err, opts.log));
        return;
      }
      const events = call.request.events;
      if (events.length > opts.maxBatchEvents) {
        callback({
          code: status.INVALID_ARGUMENT,
          details: `events: batch has ${events.length} events; at most ${opts.maxBatchEvents} are allowed`,
        });
        return;
      }
      try {
        opts.limiter.take(principal.name, events.length);
      } catch (err) {
        callback(toServiceError(err, opts.log));
        return;
      }
      processBatch(opts, events, principal).then(
        (results) => {
          callback(null, { results });
        },
        (err: unknown) => {
          callback(toServiceError(err, opts.log));
        },
      );
    },
  };
  return {
    registration: { name: 'portstream.v1.IngestService', definition: IngestServiceService, implementation },
    sessions,
  };
}
