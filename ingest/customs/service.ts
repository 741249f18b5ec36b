// The CustomsService gRPC handlers. Commands (submit, amend, cancel, inspection result) are persisted in
// PS_CUSTOMS and answered with the decision the processor makes, waiting until the caller's deadline (less a
// margin) or the server's cap; the common refusals (amending a cleared declaration, inspecting one that is not
// held) are answered from the declaration's current state before anything is persisted, the rest from the
// decider's dead letter. Reads come from the ps_declarations KV state; WatchDecisions follows PS_DECISIONS.
import { createHash } from 'node:crypto';
import { type ServerUnaryCall, type ServerWritableStream, type Metadata } from '@grpc/grpc-js';
import { DeliverPolicy, type ConsumerMessages, type OrderedConsumerOptions } from '@nats-io/jetstream';
import { Role, maySeeDeclaration, type Principal } from '../../core/auth/principal.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import type { KV } from '@nats-io/kv';
import { decisionFor, decisionsFor } from '../../core/customs/decision-view.js';
import { ErrorCode, PortstreamError, invalidArgument, unavailable } from '../../core/errors.js';
import { principalOf, requireRole } from '../../core/grpc/auth.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { toServiceError } from '../../core/grpc/status.js';
import { unaryHandler } from '../../core/grpc/unary.js';
import { checkDeclarationNumber } from '../../core/identifiers/index.js';
import type { Logger } from '../../core/logger.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import { assertDeclaration } from '../../core/validation/declaration.js';
import {
  ClearanceStatus,
  CustomsServiceService,
  Declaration,
  Decision,
  InspectionOutcome,
  type AmendDeclarationRequest,
  type AmendDeclarationResponse,
  type CancelDeclarationRequest,
  type CancelDeclarationResponse,
  type CustomsServiceServer,
  type GetDeclarationRequest,
  type GetDeclarationResponse,
  type RecordInspectionResultRequest,
  type RecordInspectionResultResponse,
  type SubmitDeclarationRequest,
  type SubmitDeclarationResponse,
  type WatchDecisionsRequest,
  type WatchDecisionsResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction, DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import { resolveBills, type BillLookup } from './bills.js';
import { claimNumber } from './claims.js';
import { readState, submit, watchAndRead, type ClearanceDeps } from './clearance.js';
import { runCommand, type CommandOutcome } from './command.js';
import { DecisionFeed, PULL_EXPIRES_MS } from './decision-feed.js';

export interface CustomsServiceDeps extends Omit<ClearanceDeps, 'feed'> {
  auth: TokenAuthenticator;
  /** ps_declaration_numbers: each number bound to its first declarant and content (claims.ts). */
  numbers: KV;
  log: Logger;
  /** Server-side cap on how long a command waits for its decision (CUSTOMS_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** Calls per second per caller (every RPC counts one). */
  limiter: RateLimiter;
  /** Aborted at shutdown: open WatchDecisions calls end with UNAVAILABLE so clients resume elsewhere. */
  signal?: AbortSignal;
  /** The filed bills of lading: who may declare them and which containers they cover. */
  manifests: BillLookup;
}

/** Answer this long before the caller's deadline, so a PENDING answer arrives in time. */
const DEADLINE_MARGIN_MS = 200;
/** Decisions a WatchDecisions consumer buffers ahead of the client. */
const WATCH_BUFFER = 256;

const DECIDERS = [Role.Customs, Role.Admin] as const;
const SUBMITTERS = [Role.Customs, Role.Admin, Role.Firm] as const;
const READERS = [Role.Customs, Role.Admin, Role.Firm] as const;

const OPEN = new Set<ClearanceStatus>([
  ClearanceStatus.PENDING,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
]);
const HELD = new Set<ClearanceStatus>([ClearanceStatus.DOCUMENT_CHECK, ClearanceStatus.PHYSICAL_INSPECTION]);

const STATUS_TEXT: Record<ClearanceStatus, string> = {
  [ClearanceStatus.UNSPECIFIED]: 'in an unknown state',
  [ClearanceStatus.PENDING]: 'pending',
  [ClearanceStatus.CLEARED]: 'cleared',
  [ClearanceStatus.DOCUMENT_CHECK]: 'held for a document check',
  [ClearanceStatus.PHYSICAL_INSPECTION]: 'held for a physical inspection',
  [ClearanceStatus.REFUSED]: 'refused',
  [ClearanceStatus.CANCELLED]: 'cancelled',
  [ClearanceStatus.UNRECOGNIZED]: 'in an unknown state',
};

const currentStatus = (s: DeclarationState): ClearanceStatus =>
  s.decisions.at(-1)?.status ?? ClearanceStatus.PENDING;

const partiesOf = (d: Declaration): string[] => [d.declarantTaxCode, d.traderTaxCode];

const encoded = (d: Declaration): Buffer => Buffer.from(Declaration.encode(d).finish());
const sameContent = (a: Declaration, b: Declaration): boolean => encoded(a).equals(encoded(b));

/** Persisting and waiting fail only when NATS does: the client may retry (commands carry stable ids). */
async function persisting<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PortstreamError) throw err;
    throw unavailable('customs command store unavailable; retry', err);
  }
}

function notFound(n: string): PortstreamError {
  return new PortstreamError(ErrorCode.NotFound, `declaration ${n} not found`);
}

function failedPrecondition(message: string): PortstreamError {
  return new PortstreamError(ErrorCode.FailedPrecondition, message);
}

function assertNumber(n: string, field: string): void {
  const reason = checkDeclarationNumber(n);
  if (reason !== undefined) throw invalidArgument(field, reason);
}

/** How long a command may wait: the caller's deadline less a margin, at most the server's cap. */
function waitBudget(call: { getDeadline(): Date | number }, maxWaitMs: number): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  if (!Number.isFinite(at)) return maxWaitMs;
  const left = at - Date.now();
  return Math.max(0, Math.min(maxWaitMs, left - Math.min(DEADLINE_MARGIN_MS, left / 2)));
}

/** Resolves when the client has read enough ('drain') or the call is over. */
function drained(call: ServerWritableStream<WatchDecisionsRequest, WatchDecisionsResponse>): Promise<void> {
  return new Promise((resolve) => {
    const events = ['drain', 'cancelled', 'close', 'finish', 'error'] as const;
    const done = (): void => {
      for (const e of events) call.off(e, done);
      resolve();
    };
    for (const e of events) call.on(e, done);
  });
}

export function createCustomsService(serviceDeps: CustomsServiceDeps): ServiceRegistration {
  const { auth, log, maxWaitMs } = serviceDeps;
  // One reader of the decision stream for every call of this service; it stops with the service.
  const feed = new DecisionFeed(serviceDeps.nc, serviceDeps.js, serviceDeps.jsm, log);
  const deps = { ...serviceDeps, feed };
  deps.signal?.addEventListener('abort', () => void feed.stop(), { once: true });
  /** Ends each open WatchDecisions call with this error. */
  const watches = new Set<(err: unknown) => void>();
  const shuttingDown = (): PortstreamError =>
    unavailable('gateway is shutting down; resume after the last position seen');
  deps.signal?.addEventListener(
    'abort',
    () => {
      for (const end of [...watches]) end(shuttingDown());
    },
    { once: true },
  );

  const caller = (metadata: Metadata, roles: readonly Role[], what: string): Principal => {
    const p = principalOf(auth, metadata);
    requireRole(p, roles, what);
    deps.limiter.take(p.name);
    return p;
  };

  /** The declaration of a submission persisted but not decided yet (no KV state), if there is one. */
  const pendingSubmission = async (n: string): Promise<Declaration | undefined> => {
    const stored = await deps.jsm.streams.getMessage(STREAM_CUSTOMS, {
      last_by_subj: subjects.customsCommand(n),
    });
    if (!stored) return undefined;
    const cmd = DeclarationCommand.decode(stored.data);
    return cmd.action === DeclarationAction.SUBMIT || cmd.action === DeclarationAction.AMEND
      ? cmd.declaration
      : undefined;
  };

  /**
   * The state a command on the declaration starts from (undefined: submitted, not decided yet); NOT_FOUND for
   * an unknown declaration, FAILED_PRECONDITION when its status is not in `allowed`.
   */
  const stateFor = async (
    n: string,
    allowed: ReadonlySet<ClearanceStatus>,
    what: string,
  ): Promise<DeclarationState | undefined> => {
    const state = await readState(deps.declarations, n);
    if (!state) {
      if (!(await pendingSubmission(n))) throw notFound(n);
      if (!allowed.has(ClearanceStatus.PENDING)) {
        throw failedPrecondition(`declaration ${n} is not decided yet; it cannot ${what}`);
      }
      return undefined;
    }
    const status = currentStatus(state);
    if (!allowed.has(status)) {
      throw failedPrecondition(`declaration ${n} is ${STATUS_TEXT[status]}; it cannot ${what}`);
    }
    return state;
  };

  /** The decision, or FAILED_PRECONDITION with the decider's reason; undefined when not decided in time. */
  const decisionOf = (n: string, outcome: CommandOutcome): Decision | undefined => {
    if (outcome.kind === 'refused') {
      throw failedPrecondition(`declaration ${n}: ${outcome.reason}`);
    }
    return outcome.kind === 'decided' ? outcome.decision : undefined;
  };

  const implementation: CustomsServiceServer = {
    submitDeclaration: unaryHandler(
      log,
      async (call: ServerUnaryCall<SubmitDeclarationRequest, SubmitDeclarationResponse>) => {
        const p = caller(call.metadata, SUBMITTERS, 'submit declarations');
        const submitted = call.request.declaration;
        assertDeclaration(submitted);
        if (p.role === Role.Firm && !p.taxCodes.has(submitted.declarantTaxCode)) {
          throw new PortstreamError(
            ErrorCode.PermissionDenied,
            `${p.name} may submit only declarations where it is the declarant`,
          );
        }
        const { declaration: decl, unmanifested } = await persisting(
          resolveBills(deps.manifests, p, submitted),
        );
        const n = decl.declarationNumber;
        // Nothing under a number bound to another declarant or other content goes further (claims.ts).
        await persisting(claimNumber(deps.numbers, submitted, p.name));
        // Listening for the decision starts before the state is read, so no decision falls between the two.
        const watched = await persisting(watchAndRead(deps, n));
        try {
          const existing = watched.state;
          if (existing) {
            // The same declaration again is answered with its decision; other content under its number is not.
            const same =
              existing.revision === 1
                ? sameContent(existing.declaration, decl)
                : maySeeDeclaration(p, partiesOf(existing.declaration));
            if (!same) {
              throw new PortstreamError(
                ErrorCode.AlreadyExists,
                `declaration ${n} was already submitted with other content; use AmendDeclaration to change it`,
              );
            }
          }
          const decision = await persisting(
            submit(deps, decl, waitBudget(call, maxWaitMs), watched, {
              unmanifestedBillNumbers: unmanifested,
            }),
          );
          log.debug({ declaration: n, by: p.name, decided: decision !== undefined }, 'declaration submitted');
          return decision
            ? { declarationNumber: n, status: decision.status, decision: decisionFor(p, decision) }
            : { declarationNumber: n, status: ClearanceStatus.PENDING, decision: undefined };
        } finally {
          watched.waiter.close();
        }
      },
    ),

    amendDeclaration: unaryHandler(
      log,
      async (call: ServerUnaryCall<AmendDeclarationRequest, AmendDeclarationResponse>) => {
        const p = caller(call.metadata, DECIDERS, 'amend declarations');
        const amended = call.request.declaration;
        assertDeclaration(amended);
        const { declaration: decl, unmanifested } = await persisting(
          resolveBills(deps.manifests, p, amended),
        );
        const n = decl.declarationNumber;
        // The same amendment again (a retry) is answered with the assessment it got.
        const current = await persisting(readState(deps.declarations, n));
        if (current && current.revision > 1 && sameContent(current.declaration, decl)) {
          const assessed = current.decisions.find((d) => d.revision === current.revision);
          if (assessed) {
            return {
              declarationNumber: n,
              revision: current.revision,
              status: assessed.status,
              decision: assessed,
            };
          }
        }
        const state = await stateFor(n, OPEN, 'be amended');
        const revision = state?.revision ?? 1;
        const digest = createHash('sha256').update(encoded(decl)).digest('hex').slice(0, 32);
        const outcome = await persisting(
          runCommand(
            deps,
            DeclarationAction.AMEND,
            n,
            {
              commandId: `amend:${n}:${revision}:${digest}`,
              declaration: decl,
              unmanifestedBillNumbers: unmanifested,
              reason: call.request.reason,
              source: p.name,
            },
            waitBudget(call, maxWaitMs),
          ),
        );
        const decision = decisionOf(n, outcome);
        return decision
          ? { declarationNumber: n, revision: decision.revision, status: decision.status, decision }
          : {
              declarationNumber: n,
              revision: revision + 1,
              status: ClearanceStatus.PENDING,
              decision: undefined,
            };
      },
    ),

    cancelDeclaration: unaryHandler(
      log,
      async (call: ServerUnaryCall<CancelDeclarationRequest, CancelDeclarationResponse>) => {
        const p = caller(call.metadata, DECIDERS, 'cancel declarations');
        const n = call.request.declarationNumber;
        assertNumber(n, 'declaration_number');
        await stateFor(n, OPEN, 'be cancelled');
        const outcome = await persisting(
          runCommand(
            deps,
            DeclarationAction.CANCEL,
            n,
            { commandId: `cancel:${n}`, reason: call.request.reason, source: p.name },
            waitBudget(call, maxWaitMs),
          ),
        );
        // No decision: the cancellation is persisted and will be applied; follow it with GetDeclaration.
        return { decision: decisionOf(n, outcome) };
      },
    ),

    recordInspectionResult: unaryHandler(
      log,
      async (call: ServerUnaryCall<RecordInspectionResultRequest, RecordInspectionResultResponse>) => {
        const p = caller(call.metadata, DECIDERS, 'record inspection results');
        const req = call.request;
        assertNumber(req.declarationNumber, 'declaration_number');
        if (req.outcome !== InspectionOutcome.PASSED && req.outcome !== InspectionOutcome.FAILED) {
          throw invalidArgument('outcome', 'must be PASSED or FAILED');
        }
        const n = req.declarationNumber;
        const state = await stateFor(n, HELD, 'take an inspection result');
        const outcome = await persisting(
          runCommand(
            deps,
            DeclarationAction.INSPECTION_RESULT,
            n,
            {
              // One result per hold: a retry of it is the same command.
              commandId: `inspection:${n}:${state?.decisions.length ?? 0}`,
              outcome: req.outcome,
              inspector: req.inspector.trim() === '' ? p.name : req.inspector,
              reason: req.remarks,
              source: p.name,
            },
            waitBudget(call, maxWaitMs),
          ),
        );
        return { decision: decisionOf(n, outcome) };
      },
    ),

    getDeclaration: unaryHandler(
      log,
      async (call: ServerUnaryCall<GetDeclarationRequest, GetDeclarationResponse>) => {
        const p = caller(call.metadata, READERS, 'read declarations');
        const n = call.request.declarationNumber;
        assertNumber(n, 'declaration_number');
        const state = await readState(deps.declarations, n);
        // A firm is told NOT_FOUND for another's declaration: it may not learn that the number exists.
        if (state) {
          if (!maySeeDeclaration(p, partiesOf(state.declaration))) throw notFound(n);
          const last = state.decisions.at(-1);
          return {
            declaration: state.declaration,
            revision: state.revision,
            status: currentStatus(state),
            decision: last && decisionFor(p, last),
            history: decisionsFor(p, state.decisions),
          };
        }
        const pending = await pendingSubmission(n);
        if (!pending || !maySeeDeclaration(p, partiesOf(pending))) throw notFound(n);
        return {
          declaration: pending,
          revision: 1,
          status: ClearanceStatus.PENDING,
          decision: undefined,
          history: [],
        };
      },
    ),

    watchDecisions: (call: ServerWritableStream<WatchDecisionsRequest, WatchDecisionsResponse>) => {
      let closed = false;
      let messages: ConsumerMessages | undefined;
      const isClosed = (): boolean => closed;
      const stop = (): void => {
        closed = true;
        watches.delete(fail);
        void messages?.close();
      };
      const fail = (err: unknown): void => {
        if (closed) return;
        stop();
        call.emit('error', toServiceError(err, log));
      };
      call.on('cancelled', stop);
      call.on('error', stop);
      watches.add(fail);
      if (deps.signal?.aborted) {
        fail(shuttingDown());
        return;
      }
      void (async () => {
        const p = caller(call.metadata, DECIDERS, 'watch decisions');
        const req = call.request;
        const channels = new Set<number>(req.channels);
        const start: Partial<OrderedConsumerOptions> =
          req.afterPosition > 0
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: req.afterPosition + 1 }
            : { deliver_policy: req.fromStart ? DeliverPolicy.All : DeliverPolicy.New };
        const consumer = await deps.js.consumers.get(STREAM_DECISIONS, {
          ...start,
          filter_subjects: subjects.allDecisions,
        });
        // The server-side consumer is created by consume(); nothing to clean up before it.
        if (isClosed()) return;
        // Short pulls, as in the decision feed: a consumer lost under the watch shows within seconds.
        messages = await consumer.consume({ max_messages: WATCH_BUFFER, expires: PULL_EXPIRES_MS });
        try {
          if (isClosed()) return;
          for await (const m of messages) {
            if (isClosed()) break;
            let decision: Decision;
            try {
              decision = Decision.decode(m.data);
            } catch (err) {
              log.warn({ err, seq: m.seq }, 'undecodable decision skipped');
              continue;
            }
            if (channels.size > 0 && !channels.has(decision.channel)) continue;
            decision.position = m.seq;
            if (!call.write({ decision: decisionFor(p, decision) })) await drained(call);
          }
          // The consumer ended without the client leaving (e.g. NATS connection lost): it resumes elsewhere.
          if (!isClosed())
            fail(unavailable('decision stream interrupted; resume after the last position seen'));
        } finally {
          await messages.close();
          // An ordered consumer outlives its reader by its inactivity threshold; remove it now.
          await consumer.delete().catch(() => false);
        }
      })().catch(fail);
    },
  };

  return { name: 'portstream.v1.CustomsService', definition: CustomsServiceService, implementation };
}
