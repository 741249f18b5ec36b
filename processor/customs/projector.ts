// The customs projector: a named durable pull consumer on PS_CUSTOMS, the declarations' ledger (each message a
// command with the decision the gateway made on it, core/customs/ledger.ts). For each entry it publishes the
// decision on the decision feed (PS_DECISIONS, read by WatchDecisions, the sink and notifications), records the
// declaration's state with the decision's feed position in ps_declarations, marks the declarant as seen and gives
// each listed container its customs and release status. Nothing here decides: the ledger entry is the decision,
// acked to its caller before this runs. Every step is idempotent, and a declaration's entries are projected in
// ledger order: the decision with index i is published only after the one with index i-1, under
// `<declaration>:<i>` and only if the feed's last decision on the declaration is still i-1's (expected last
// subject sequence), so a redelivery however late never publishes a decision twice.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import PQueue from 'p-queue';
import { decisionBytes, stateOfEntry } from '../../core/customs/ledger.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { kvStore, readModifyWrite } from '../../core/nats/cas.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import {
  decodeDeclarationState,
  encodeDeclarationState,
  type DeclarationState,
} from '../../core/state/declaration.js';
import { channelToJSON, type Decision } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import { ensureDurable } from '../durable.js';
import type { ProcessorMetrics } from '../metrics.js';
import { linkDeclaration } from '../state/customs.js';
import { deadLetter } from './dead-letter.js';

export const CUSTOMS_CONSUMER = 'processor-customs';

export interface ProjectorDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  logger: Logger;
  /** Entries projected at once (different declarations; one declaration's run in order). */
  concurrency?: number;
  /** Redelivery delay of an entry a stopped processor left unacked (default 10 s). */
  ackWaitMs?: number;
  metrics?: ProcessorMetrics | undefined;
}

export interface ProjectorHandle {
  stop(): Promise<void>;
}

/** An entry whose predecessor on the same declaration is not projected yet: retried shortly. */
class NotYet extends Error {}

const stateCodec = { decode: decodeDeclarationState, encode: encodeDeclarationState };

async function ensureConsumer(jsm: JetStreamManager, ackWaitMs: number): Promise<void> {
  await ensureDurable(jsm, STREAM_CUSTOMS, {
    durable_name: CUSTOMS_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subjects.allCustomsCommands,
    ack_wait: nanos(ackWaitMs),
    max_deliver: 10,
    max_ack_pending: 1000,
  });
}

/** The index in the message id `<declaration>:<index>` of a decision on the feed; -1 when absent. */
function indexOf(msgId: string | undefined): number {
  const i = Number(msgId?.slice(msgId.lastIndexOf(':') + 1));
  return msgId !== undefined && Number.isInteger(i) && i >= 0 ? i : -1;
}

const channelLabel = (d: Decision): string => channelToJSON(d.channel).replace('CHANNEL_', '').toLowerCase();

/**
 * Publishes decision `index` of the declaration on the feed unless it is there, and resolves with its position.
 * `previous` is the feed position of decision index-1 (0 for the first): the publish is refused by the stream
 * when anything else is the declaration's last decision there, and then the feed is read to see why.
 */
async function publishDecision(
  deps: ProjectorDeps,
  n: string,
  index: number,
  decision: Decision,
  previous: number,
): Promise<number> {
  try {
    const ack = await deps.js.publish(subjects.decision(n), decisionBytes(decision), {
      msgID: `${n}:${index}`,
      expect: { lastSubjectSequence: previous },
    });
    if (!ack.duplicate) deps.metrics?.decisions.inc({ channel: channelLabel(decision) });
    return ack.seq;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence)) {
      throw err;
    }
  }
  const last = await deps.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: subjects.decision(n) });
  const lastIndex = indexOf(last?.header.get('Nats-Msg-Id'));
  // Published before (a redelivery after the duplicate window): that is its position.
  if (last && lastIndex === index) return last.seq;
  throw new NotYet(
    `declaration ${n}: decision ${index} follows ${lastIndex} on the feed; projecting in order`,
  );
}

/** Projects one ledger entry; 'term' when it can never be projected (dead-lettered). */
async function project(deps: ProjectorDeps, msg: JsMsg): Promise<'ack' | 'term'> {
  let entry: DeclarationCommand;
  try {
    entry = DeclarationCommand.decode(msg.data);
  } catch (err) {
    await deadLetter(deps.js, STREAM_CUSTOMS, msg, `undecodable ledger entry: ${(err as Error).message}`);
    return 'term';
  }
  const state = stateOfEntry(entry);
  if (state === undefined) {
    await deadLetter(deps.js, STREAM_CUSTOMS, msg, 'command without a decision: not a ledger entry');
    return 'term';
  }
  const n = entry.declarationNumber;
  const index = state.decisions.length - 1;
  const decision = state.decisions[index] as Decision;
  const { declarations } = deps.buckets;
  const stored = await declarations.get(n);
  const known = stored?.operation === 'PUT' ? decodeDeclarationState(stored.value) : undefined;
  // Positions of the earlier decisions as the projection recorded them.
  const positions = state.decisions.map((d, i) => {
    const k = known?.decisions[i];
    return k?.status === d.status ? k.position : 0;
  });
  let position = positions[index] ?? 0;
  if (position === 0) {
    const previous = index === 0 ? 0 : (positions[index - 1] ?? 0);
    if (index > 0 && previous === 0) {
      throw new NotYet(`declaration ${n}: decision ${index - 1} is not on the feed yet`);
    }
    position = await publishDecision(deps, n, index, decision, previous);
  }
  const projected: DeclarationState = {
    ...state,
    decisions: state.decisions.map((d, i) => ({
      ...d,
      position: i === index ? position : (positions[i] ?? 0),
    })),
  };
  const [written] = await Promise.all([
    readModifyWrite(kvStore(declarations), n, stateCodec, (prev) =>
      // Only forwards: a later entry projected already is kept.
      prev !== undefined && prev.decisions.length > index + 1
        ? undefined
        : prev !== undefined &&
            prev.decisions.length === index + 1 &&
            prev.decisions[index]?.position === position
          ? undefined
          : projected,
    ),
    state.declaration.declarantTaxCode === ''
      ? undefined
      : deps.buckets.declarants.put(state.declaration.declarantTaxCode, new TextEncoder().encode(n)),
  ]);
  // Containers follow the declaration's current status: the newest projected state's (this one's or later).
  const current = written ?? projected;
  const status = current.decisions.at(-1)?.status;
  if (status !== undefined) {
    await Promise.all(
      current.declaration.containerNumbers.map((c) =>
        linkDeclaration(deps.buckets.containers, c, n, status, declarations, current.declaration.billNumbers),
      ),
    );
  }
  return 'ack';
}

export async function startCustomsProjector(deps: ProjectorDeps): Promise<ProjectorHandle> {
  await ensureConsumer(deps.jsm, deps.ackWaitMs ?? 10_000);
  const consumer = await deps.js.consumers.get(STREAM_CUSTOMS, CUSTOMS_CONSUMER);
  const concurrency = deps.concurrency ?? 64;
  const queue = new PQueue({ concurrency });
  const tails = new Map<string, Promise<void>>();
  const messages = await consumer.consume({ max_messages: concurrency * 2 });

  const run = async (msg: JsMsg): Promise<void> => {
    const done = deps.metrics?.handlerSeconds.startTimer({ consumer: CUSTOMS_CONSUMER });
    const count = (outcome: string): void => {
      done?.();
      deps.metrics?.messages.inc({ consumer: CUSTOMS_CONSUMER, outcome });
    };
    try {
      // A plain ack, no round trip: if it is lost, the redelivered entry finds its projection done.
      if ((await project(deps, msg)) === 'term') {
        msg.term();
        count('dead_letter');
      } else {
        msg.ack();
        count('ack');
      }
    } catch (err) {
      count('retry');
      const log =
        err instanceof NotYet ? deps.logger.debug.bind(deps.logger) : deps.logger.warn.bind(deps.logger);
      log({ err, seq: msg.seq, redelivery: msg.info.deliveryCount }, 'ledger entry not projected, retrying');
      msg.nak(Math.min(5000, 100 * 2 ** msg.info.deliveryCount));
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      if (queue.size > concurrency) await queue.onSizeLessThan(concurrency);
      const key = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
      const prev = tails.get(key) ?? Promise.resolve();
      const next = prev.then(() => queue.add(() => run(msg)));
      tails.set(key, next);
      void next.finally(() => {
        if (tails.get(key) === next) tails.delete(key);
      });
    }
  })();

  return {
    async stop() {
      await messages.close();
      await loop;
      await queue.onIdle();
      await Promise.all([...tails.values()]);
    },
  };
}
