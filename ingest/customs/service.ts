// The CustomsService gRPC handlers. A command (submit, amend, cancel, inspection result) is decided here, by the
// gateway that received it (decide.ts): one read of the declaration's ledger, the pure transition, and one
// append to PS_CUSTOMS that records the command with its decision. The answer follows that append at once; the
// decision feed (PS_DECISIONS), container links and analytics are projections the processor makes of the
// ledger. A command that can never apply is refused (FAILED_PRECONDITION) before anything is written. A caller
// whose deadline comes first is answered PENDING, and re-sending the same command is answered from the record.
// Reads come from the ledger (always current) with positions from the ps_declarations projection;
// WatchDecisions follows PS_DECISIONS.
import { type ServerUnaryCall, type ServerWritableStream, type Metadata } from '@grpc/grpc-js';
import { DeliverPolicy, type ConsumerMessages, type OrderedConsumerOptions } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { Histogram, type Registry } from 'prom-client';
import { Role, maySeeDeclaration, type Principal } from '../../core/auth/principal.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import { decisionFor, decisionsFor } from '../../core/customs/decision-view.js';
import { ErrorCode, PortstreamError, invalidArgument, unavailable } from '../../core/errors.js';
import { principalOf, requireRole } from '../../core/grpc/auth.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { toServiceError } from '../../core/grpc/status.js';
import { unaryHandler } from '../../core/grpc/unary.js';
import { checkDeclarationNumber } from '../../core/identifiers/index.js';
import type { Logger } from '../../core/logger.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeDeclarationState, type DeclarationState } from '../../core/state/declaration.js';
import { assertDeclaration } from '../../core/validation/declaration.js';
import {
  ClearanceStatus,
  CustomsServiceService,
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
import { resolveBills, type BillLookup } from './bills.js';
import type { Decided, Decider } from './decide.js';
import { amendPlan, cancelPlan, currentStatus, inspectionPlan, notFound, submitPlan } from './plans.js';
import type { CommandPlan } from './decide.js';

/** Each pull of a WatchDecisions consumer lasts this long (idle heartbeats at half): a lost consumer shows soon. */
const PULL_EXPIRES_MS = 4000;

export interface CustomsServiceDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** ps_declarations: the processor's projection of the ledger, read for decision positions. */
  declarations: KV;
  decider: Decider;
  auth: TokenAuthenticator;
  log: Logger;
  /** Server-side cap on how long a command may take before it is answered PENDING (CUSTOMS_MAX_WAIT_MS). */
  maxWaitMs: number;
  /** Calls per second per caller (every RPC counts one). */
  limiter: RateLimiter;
  /** Aborted at shutdown: open WatchDecisions calls end with UNAVAILABLE so clients resume elsewhere. */
  signal?: AbortSignal;
  /** The filed bills of lading: who may declare them and which containers they cover. */
  manifests: BillLookup;
  /** Seconds each command spent in this gateway, from its handler's start to its answer (customsMetrics). */
  commandSeconds?: Histogram<'command' | 'outcome'>;
}

/**
 * The gateway's customs metrics: `portstream_customs_command_seconds{command,outcome}`, the time from a
 * command's handler starting to its answer (authorisation, validation, the decision's reads and append), without
 * what the call waited before the handler ran or while its answer was sent; its sum and count over a load, next
 * to the caller's latency, tell the gateway's share from the transport's and the machine's.
 */
export function customsCommandSeconds(registry: Registry): Histogram<'command' | 'outcome'> {
  return new Histogram({
    name: 'portstream_customs_command_seconds',
    help: 'Time from a customs command handler starting to its answer, by command and outcome (decided, pending, error)',
    labelNames: ['command', 'outcome'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
}

/** Answer this long before the caller's deadline, so a PENDING answer arrives in time. */
const DEADLINE_MARGIN_MS = 200;
/** Decisions a WatchDecisions consumer buffers ahead of the client. */
const WATCH_BUFFER = 256;

const DECIDERS = [Role.Customs, Role.Admin] as const;
const SUBMITTERS = [Role.Customs, Role.Admin, Role.Firm] as const;
const READERS = [Role.Customs, Role.Admin, Role.Firm] as const;

const partiesOf = (d: { declarantTaxCode: string; traderTaxCode: string }): string[] => [
  d.declarantTaxCode,
  d.traderTaxCode,
];

/** Reading and appending fail only when NATS does: the client may retry (commands are idempotent). */
async function persisting<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PortstreamError) throw err;
    throw unavailable('customs store unavailable; retry', err);
  }
}

function assertNumber(n: string, field: string): void {
  const reason = checkDeclarationNumber(n);
  if (reason !== undefined) throw invalidArgument(field, reason);
}

/** How long a command may take: the caller's deadline less a margin, at most the server's cap. */
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

/**
 * The command's outcome, or undefined when the budget ran out first (the command may still be recorded; the
 * same command re-sent is answered from the record). Refusals and failures within the budget are thrown.
 */
async function within(run: Promise<Decided>, budgetMs: number): Promise<Decided | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, budgetMs);
  });
  // A run that fails after the budget went has nobody to tell; it must not become an unhandled rejection.
  run.catch(() => undefined);
  try {
    return await Promise.race([persisting(run), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createCustomsService(deps: CustomsServiceDeps): ServiceRegistration {
  const { auth, log, maxWaitMs } = deps;
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

  /** The projection's state of the declaration (for positions on the decision feed), if it has one yet. */
  const projected = async (n: string): Promise<DeclarationState | undefined> => {
    const e = await deps.declarations.get(n);
    return e && e.operation === 'PUT' ? decodeDeclarationState(e.value) : undefined;
  };

  /** The decisions with the positions the decision feed gave them (0 where it has not carried one yet). */
  const positioned = (decisions: readonly Decision[], known: DeclarationState | undefined): Decision[] =>
    decisions.map((d, i) => {
      const p = known?.decisions[i]?.position ?? 0;
      return p > 0 && known?.decisions[i]?.status === d.status ? { ...d, position: p } : d;
    });

  /** Runs the command within the caller's budget; its decision (with its feed position when known) or none. */
  const decide = async (
    call: { getDeadline(): Date | number },
    n: string,
    plan: CommandPlan,
  ): Promise<Decision | undefined> => {
    const done = await within(deps.decider.run(n, plan), waitBudget(call, maxWaitMs));
    if (done === undefined) return undefined;
    if (done.fresh) return done.decision;
    // Answered from the record: the decision may be on the feed by now.
    const index = done.state.decisions.indexOf(done.decision);
    const known = await projected(n).catch(() => undefined);
    return positioned(done.state.decisions, known)[index] ?? done.decision;
  };

  /** The handler, timed into commandSeconds: decided when its answer carries a decision, pending when not. */
  const timed =
    <Req, Res extends { decision?: Decision | undefined }>(
      command: string,
      fn: (call: ServerUnaryCall<Req, Res>) => Promise<Res>,
    ) =>
    async (call: ServerUnaryCall<Req, Res>): Promise<Res> => {
      const end = deps.commandSeconds?.startTimer({ command });
      try {
        const res = await fn(call);
        end?.({ outcome: res.decision === undefined ? 'pending' : 'decided' });
        return res;
      } catch (err) {
        end?.({ outcome: 'error' });
        throw err;
      }
    };

  const implementation: CustomsServiceServer = {
    submitDeclaration: unaryHandler(
      log,
      timed('submit', async (call: ServerUnaryCall<SubmitDeclarationRequest, SubmitDeclarationResponse>) => {
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
        const decision = await decide(call, n, submitPlan(submitted, decl, unmanifested, p.name));
        log.debug({ declaration: n, by: p.name, decided: decision !== undefined }, 'declaration submitted');
        return decision
          ? { declarationNumber: n, status: decision.status, decision: decisionFor(p, decision) }
          : { declarationNumber: n, status: ClearanceStatus.PENDING, decision: undefined };
      }),
    ),

    amendDeclaration: unaryHandler(
      log,
      timed('amend', async (call: ServerUnaryCall<AmendDeclarationRequest, AmendDeclarationResponse>) => {
        const p = caller(call.metadata, DECIDERS, 'amend declarations');
        const amended = call.request.declaration;
        assertDeclaration(amended);
        const { declaration: decl, unmanifested } = await persisting(
          resolveBills(deps.manifests, p, amended),
        );
        const n = decl.declarationNumber;
        const decision = await decide(call, n, amendPlan(decl, unmanifested, call.request.reason, p.name));
        return decision
          ? { declarationNumber: n, revision: decision.revision, status: decision.status, decision }
          : { declarationNumber: n, revision: 0, status: ClearanceStatus.PENDING, decision: undefined };
      }),
    ),

    cancelDeclaration: unaryHandler(
      log,
      timed('cancel', async (call: ServerUnaryCall<CancelDeclarationRequest, CancelDeclarationResponse>) => {
        const p = caller(call.metadata, DECIDERS, 'cancel declarations');
        const n = call.request.declarationNumber;
        assertNumber(n, 'declaration_number');
        // No decision: not decided before the deadline; follow it with GetDeclaration or send it again.
        return { decision: await decide(call, n, cancelPlan(n, call.request.reason, p.name)) };
      }),
    ),

    recordInspectionResult: unaryHandler(
      log,
      timed(
        'inspection',
        async (call: ServerUnaryCall<RecordInspectionResultRequest, RecordInspectionResultResponse>) => {
          const p = caller(call.metadata, DECIDERS, 'record inspection results');
          const req = call.request;
          assertNumber(req.declarationNumber, 'declaration_number');
          if (req.outcome !== InspectionOutcome.PASSED && req.outcome !== InspectionOutcome.FAILED) {
            throw invalidArgument('outcome', 'must be PASSED or FAILED');
          }
          const n = req.declarationNumber;
          const inspector = req.inspector.trim() === '' ? p.name : req.inspector;
          return {
            decision: await decide(call, n, inspectionPlan(n, req.outcome, inspector, req.remarks, p.name)),
          };
        },
      ),
    ),

    getDeclaration: unaryHandler(
      log,
      async (call: ServerUnaryCall<GetDeclarationRequest, GetDeclarationResponse>) => {
        const p = caller(call.metadata, READERS, 'read declarations');
        const n = call.request.declarationNumber;
        assertNumber(n, 'declaration_number');
        const [head, known] = await persisting(Promise.all([deps.decider.head(n), projected(n)]));
        const state = head.state;
        // A firm is told NOT_FOUND for another's declaration: it may not learn that the number exists.
        if (!state || !maySeeDeclaration(p, partiesOf(state.declaration))) throw notFound(n);
        const decisions = positioned(state.decisions, known);
        const last = decisions.at(-1);
        return {
          declaration: state.declaration,
          revision: state.revision,
          status: currentStatus(state),
          decision: last && decisionFor(p, last),
          history: decisionsFor(p, decisions),
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
