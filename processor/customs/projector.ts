// The customs projector: a named durable pull consumer on PS_CUSTOMS, the declarations' ledger (each message a
// command with the decision the gateway made on it, core/customs/ledger.ts). For each entry it publishes the
// decision on the decision feed (PS_DECISIONS, read by WatchDecisions, the sink and notifications), records the
// declaration's state with the decision's feed position in ps_declarations, marks the declarant as seen and gives
// each listed container its customs and release status. Nothing here decides: the ledger entry is the decision,
// acked to its caller before this runs. Every step is idempotent, and a declaration's entries are projected in
// ledger order: the decision with index i is published only after the one with index i-1, under
// `<declaration>:<i>` and only if the feed's last decision on the declaration is still i-1's (expected last
// subject sequence), so a redelivery however late never publishes a decision twice.
import { type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import {
  ConsumerError,
  consumerMetrics,
  customsDurable,
  CUSTOMS_CONSUMER,
  ensureDurable,
  startConsumer,
  type ConsumerMetrics,
  type Item,
} from '../../core/consumer/index.js';
import { decisionBytes, stateOfEntry } from '../../core/customs/ledger.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { readModifyWrite, type CasStore } from '../../core/nats/cas.js';
import {
  CasBucket,
  CasConflictError,
  CasSubjects,
  PipelinedRequests,
  type CasEntry,
} from '../../core/nats/pipelined.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import {
  decodeDeclarationState,
  encodeDeclarationState,
  type DeclarationState,
} from '../../core/state/declaration.js';
import { channelToJSON, type Decision } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { ProcessorMetrics } from '../metrics.js';
import { linkDeclaration } from '../state/customs.js';

export { CUSTOMS_CONSUMER };

export interface ProjectorDeps {
  /** For the pipelined reads and writes of each entry (core/nats/pipelined.ts). */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  logger: Logger;
  /** Entries taken in one batch (different declarations at once; one declaration's in order). */
  batchSize?: number;
  /** How long the first entry of a batch waits for more (default PROJECTOR_LINGER_MS). */
  lingerMs?: number;
  /** Redelivery delay of an entry a stopped processor left unacked (default 10 s). */
  ackWaitMs?: number;
  metrics?: ProcessorMetrics | undefined;
  /** The consumer runtime's metrics (core/consumer); a private registry when unset. */
  consumerMetrics?: ConsumerMetrics;
}

export interface ProjectorHandle {
  stop(): Promise<void>;
}

const stateCodec = { decode: decodeDeclarationState, encode: encodeDeclarationState };

/** Entries per batch. */
export const PROJECTOR_MAX_BATCH = 256;
/**
 * How long the first entry of a batch waits for more: the decision feed trails the ledger by this much more,
 * and the entries that arrive meanwhile share each step's socket write (on a virtual machine a write costs more
 * than projecting an entry).
 */
export const PROJECTOR_LINGER_MS = 20;

type Decoded = { entry: DeclarationCommand; state: DeclarationState };

/** An entry whose predecessor on the same declaration is not projected yet: retried shortly. */
const notYet = (message: string): ConsumerError => ConsumerError.retryable(message);

/** The index in the message id `<declaration>:<index>` of a decision on the feed; -1 when absent. */
function indexOf(msgId: string | undefined): number {
  const i = Number(msgId?.slice(msgId.lastIndexOf(':') + 1));
  return msgId !== undefined && Number.isInteger(i) && i >= 0 ? i : -1;
}

const channelLabel = (d: Decision): string => channelToJSON(d.channel).replace('CHANNEL_', '').toLowerCase();

/** The projector's pipelined access: the decision feed's subjects and the ps_declarations entries. */
interface Access {
  feed: CasSubjects;
  states: CasBucket;
  containers: CasBucket;
  declarants: CasBucket;
}

/**
 * Publishes decision `index` of the declaration on the feed unless it is there, and resolves with its position
 * (0 when it is on the feed under a later one and its position is not at hand: nothing needs it then).
 * `previous` is the feed position of decision index-1 (0 for the first): the stream refuses the publish when
 * anything else is the declaration's last decision there, and then the feed is read to see why.
 */
async function publishDecision(
  deps: ProjectorDeps,
  access: Access,
  n: string,
  index: number,
  decision: Decision,
  previous: number,
): Promise<number> {
  try {
    const ack = await access.feed.publish(n, decisionBytes(decision), previous, `${n}:${index}`);
    if (!ack.duplicate) deps.metrics?.decisions.inc({ channel: channelLabel(decision) });
    return ack.seq;
  } catch (err) {
    if (!(err instanceof CasConflictError)) throw err;
  }
  const last = await deps.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: subjects.decision(n) });
  const lastIndex = indexOf(last?.header.get('Nats-Msg-Id'));
  // Published before (a redelivery, however late): that is its position; under a later one, it is there too.
  if (last && lastIndex === index) return last.seq;
  if (last && lastIndex > index) return 0;
  throw notYet(`declaration ${n}: decision ${index} follows ${lastIndex} on the feed; projecting in order`);
}

/** A ledger entry with the state it records; anything else can never be projected (dead-lettered). */
function decodeEntry(msg: JsMsg): Decoded {
  const entry = DeclarationCommand.decode(msg.data);
  const state = stateOfEntry(entry);
  if (state === undefined) throw ConsumerError.permanent('command without a decision: not a ledger entry');
  return { entry, state };
}

/** Projects one ledger entry. */
/** Declarants this projector has marked as seen (nothing unmarks one); cleared when full, which costs writes. */
class SeenDeclarants {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 100_000) {}
  /** True the first time a tax code comes (then mark it). */
  firstTime(taxCode: string): boolean {
    if (taxCode === '' || this.seen.has(taxCode)) return false;
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.add(taxCode);
    return true;
  }
}

/**
 * The store whose first get answers with an entry already read (null: take it as never written, and let the
 * compare-and-set find out otherwise): one read fewer per entry.
 */
function primed(store: CasStore, entry: CasEntry | null): CasStore {
  let first = true;
  return {
    get: (key) => {
      if (!first) return store.get(key);
      first = false;
      return Promise.resolve(entry);
    },
    write: (key, value, expected) => store.write(key, value, expected),
  };
}

async function project(
  deps: ProjectorDeps,
  access: Access,
  seen: SeenDeclarants,
  entry: DeclarationCommand,
  state: DeclarationState,
): Promise<void> {
  const n = entry.declarationNumber;
  const index = state.decisions.length - 1;
  const decision = state.decisions[index] as Decision;
  // A first decision needs nothing from the projection to be published; a later one the position of the one
  // before it, which the projection recorded.
  const stored = index === 0 ? null : await access.states.get(n);
  const known = stored?.operation === 'PUT' ? decodeDeclarationState(stored.value) : undefined;
  const positions = state.decisions.map((d, i) => {
    const k = known?.decisions[i];
    return k?.status === d.status ? k.position : 0;
  });
  let position = positions[index] ?? 0;
  if (position === 0) {
    const previous = index === 0 ? 0 : (positions[index - 1] ?? 0);
    if (index > 0 && previous === 0) {
      throw notYet(`declaration ${n}: decision ${index - 1} is not on the feed yet`);
    }
    position = await publishDecision(deps, access, n, index, decision, previous);
  }
  const projected: DeclarationState = {
    ...state,
    decisions: state.decisions.map((d, i) => ({
      ...d,
      position: i === index ? position : (positions[i] ?? 0),
    })),
  };
  const [written] = await Promise.all([
    readModifyWrite(primed(access.states, index === 0 ? null : stored), n, stateCodec, (prev) =>
      // Only forwards: a later entry projected already is kept.
      prev !== undefined && prev.decisions.length > index + 1
        ? undefined
        : prev !== undefined &&
            prev.decisions.length === index + 1 &&
            prev.decisions[index]?.position === position
          ? undefined
          : projected,
    ),
    seen.firstTime(state.declaration.declarantTaxCode)
      ? access.declarants.put(state.declaration.declarantTaxCode, new TextEncoder().encode(n))
      : undefined,
  ]);
  // Containers follow the declaration's current status: the newest projected state's (this one's or later).
  const current = written ?? projected;
  const status = current.decisions.at(-1)?.status;
  if (status !== undefined) {
    await Promise.all(
      current.declaration.containerNumbers.map((c) =>
        linkDeclaration(access.containers, c, n, status, access.states, current.declaration.billNumbers),
      ),
    );
  }
}

export async function startCustomsProjector(deps: ProjectorDeps): Promise<ProjectorHandle> {
  const spec = customsDurable(deps.ackWaitMs ?? 10_000);
  const seen = new SeenDeclarants();
  const requests = new PipelinedRequests(deps.nc);
  const access: Access = {
    feed: new CasSubjects(requests, STREAM_DECISIONS, subjects.decision('')),
    states: new CasBucket(requests, deps.buckets.names.declarations),
    containers: new CasBucket(requests, deps.buckets.names.containers),
    declarants: new CasBucket(requests, deps.buckets.names.declarants),
  };
  await ensureDurable(deps.jsm, spec);
  const runtime = await startConsumer({
    js: deps.js,
    spec,
    log: deps.logger,
    metrics: deps.consumerMetrics ?? consumerMetrics(new Registry()),
    decode: decodeEntry,
    // One declaration's entries in ledger order, different declarations at once: their reads and writes at each
    // step leave in one socket write, and the batch is acked in one.
    handle: async (batch) => {
      const byDeclaration = new Map<string, Item<Decoded>[]>();
      for (const item of batch) {
        const n = item.value.entry.declarationNumber;
        const run = byDeclaration.get(n);
        if (run) run.push(item);
        else byDeclaration.set(n, [item]);
      }
      const failed = new Map<JsMsg, unknown>();
      await Promise.all(
        [...byDeclaration.values()].map(async (run) => {
          for (const [i, { msg, value }] of run.entries()) {
            try {
              await project(deps, access, seen, value.entry, value.state);
            } catch (err) {
              // What follows it on the same declaration waits for it (projected in ledger order).
              for (const later of run.slice(i))
                failed.set(
                  later.msg,
                  later.msg === msg
                    ? err
                    : notYet(
                        `declaration ${value.entry.declarationNumber}: an earlier entry failed; projecting in order`,
                      ),
                );
              return;
            }
          }
        }),
      );
      return { failed };
    },
    maxMessages: deps.batchSize ?? PROJECTOR_MAX_BATCH,
    lingerMs: deps.lingerMs ?? PROJECTOR_LINGER_MS,
  });
  return {
    stop: async () => {
      await runtime.stop();
      requests.close();
    },
  };
}
