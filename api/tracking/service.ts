// The TrackingService gRPC handlers: authenticate, call the shared reads, map errors at the edge. WatchContainer
// runs the shared watch loop (watch.ts) and waits for 'drain' when write() returns false.
import {
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Principal } from '../../core/auth/principal.js';
import type { Authenticator } from '../../core/auth/tokens.js';
import { principalOf } from '../../core/grpc/auth.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { toServiceError } from '../../core/grpc/status.js';
import type { Logger } from '../../core/logger.js';
import {
  TrackingServiceService,
  type WatchContainerRequest,
  type WatchContainerResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import type { TrackingReads } from './reads.js';
import type { TrackingStore } from './store.js';
import { watchContainer } from './watch.js';

export interface TrackingServiceDeps {
  auth: Authenticator;
  reads: TrackingReads;
  store: TrackingStore;
  log: Logger;
}

type Handler<Req, Res> = (p: Principal, req: Req) => Promise<Res>;

function unary<Req, Res>(deps: TrackingServiceDeps, h: Handler<Req, Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => h(principalOf(deps.auth, call.metadata), call.request))
      .then(
        (res) => {
          callback(null, res);
        },
        (err: unknown) => {
          callback(toServiceError(err, deps.log));
        },
      );
  };
}

function drained(call: ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}

/** The signal is aborted by the call's 'cancelled' event, hooked before this runs (see watchContainer). */
async function watch(
  deps: TrackingServiceDeps,
  call: ServerWritableStream<WatchContainerRequest, WatchContainerResponse>,
  signal: AbortSignal,
): Promise<void> {
  const p = principalOf(deps.auth, call.metadata);
  const w = await watchContainer(
    p,
    call.request.containerNumber,
    deps.store,
    async (status) => {
      if (!call.write({ status })) await drained(call);
    },
    signal,
  );
  await w.done;
  if (!call.cancelled && !signal.aborted) call.end();
}

export interface TrackingService {
  registration: ServiceRegistration;
  /** Ends every open WatchContainer call, so a graceful shutdown need not wait for clients to hang up. */
  endWatches(): void;
}

export function createTrackingService(deps: TrackingServiceDeps): TrackingService {
  const r = deps.reads;
  const watches = new Map<
    ServerWritableStream<WatchContainerRequest, WatchContainerResponse>,
    AbortController
  >();
  const implementation: UntypedServiceImplementation = {
    getContainerStatus: unary(deps, r.containerStatus.bind(r)),
    listContainerEvents: unary(deps, r.containerEvents.bind(r)),
    getVesselVisit: unary(deps, r.vesselVisit.bind(r)),
    listVesselVisits: unary(deps, r.vesselVisits.bind(r)),
    listDecisions: unary(deps, r.decisions.bind(r)),
    getThroughput: unary(deps, r.throughput.bind(r)),
    getClearanceMetrics: unary(deps, r.clearance.bind(r)),
    listHeldDeclarations: unary(deps, r.heldDeclarations.bind(r)),
    getCustomsActivity: unary(deps, r.customsActivity.bind(r)),
    getYardDwell: unary(deps, r.yardDwell.bind(r)),
    getConsumerLag: unary(deps, r.consumerLag.bind(r)),
    listContainers: unary(deps, r.containers.bind(r)),
    listDeclarations: unary(deps, r.declarations.bind(r)),
    watchContainer: (call: ServerWritableStream<WatchContainerRequest, WatchContainerResponse>) => {
      // Hooked before anything is awaited: a client that cancels at once still ends the watch and deletes
      // its server consumer.
      const ac = new AbortController();
      call.once('cancelled', () => {
        ac.abort();
      });
      // Cancelled before this handler ran: 'cancelled' was already emitted.
      if (call.cancelled) ac.abort();
      watches.set(call, ac);
      watch(deps, call, ac.signal)
        .catch((err: unknown) => {
          if (!call.cancelled && !ac.signal.aborted) call.emit('error', toServiceError(err, deps.log));
        })
        .finally(() => watches.delete(call));
    },
  };
  return {
    registration: {
      name: 'portstream.v1.TrackingService',
      definition: TrackingServiceService,
      implementation,
    },
    endWatches: () => {
      // UNAVAILABLE: the client reconnects (to another instance) and gets the current status again.
      for (const [call, ac] of watches) {
        ac.abort();
        call.emit('error', { code: grpcStatus.UNAVAILABLE, details: 'server stopping' });
      }
      watches.clear();
    },
  };
}
