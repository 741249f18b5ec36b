// The customs decider: a named durable pull consumer on PS_CUSTOMS that applies each DeclarationCommand to the
// declaration's KV state (compare-and-set) and then publishes the Decision on PS_DECISIONS. The KV write comes
// first because it is the only place several processors agree on the order: the instance whose compare-and-set
// wins owns the next decision index, and the decision published under `<declaration>:<index>` (Nats-Msg-Id) is
// the very one the state holds. (Publishing first let two instances applying different commands to the same
// declaration publish one decision and record the other, and let a client act on a decision another instance
// could not see yet.) A decision whose position is still 0 is not yet confirmed on the stream: whoever next
// handles the declaration, e.g. the redelivery after a crash between the two writes, publishes it (the same
// bytes under the same id, so JetStream keeps one within its duplicate window) and records the position.
// Acks only after both writes are stored. Commands run concurrently (bounded), serialised per declaration.
import { randomBytes } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import PQueue from 'p-queue';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { STREAM_CUSTOMS, subjects } from '../../core/nats/topology.js';
import {
  decodeDeclarationState,
  encodeDeclarationState,
  type DeclarationState,
} from '../../core/state/declaration.js';
import { channelToJSON, Decision } from '../../proto/gen/portstream/v1/customs.js';
import { linkDeclaration } from '../state/customs.js';
import { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import { registerView, type RegisterView } from '../../core/state/enterprise.js';
import type { RuleSet } from '../rules/schema.js';
import type { SelectionKey } from '../rules/selection.js';
import { ensureDurable } from '../durable.js';
import type { ProcessorMetrics } from '../metrics.js';
import { deadLetter } from './dead-letter.js';
import { transition } from './transition.js';

export const CUSTOMS_CONSUMER = 'processor-customs';

export interface DeciderDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  rules: () => RuleSet;
  /**
   * The selection secret for random inspection, by the version the rules name (processor/rules/selection.ts).
   * Unset: a random secret for this decider's life.
   */
  selection?: (version: string | undefined) => SelectionKey;
  logger: Logger;
  /** Commands processed at once. */
  concurrency?: number;
  /** Redelivery delay of a command a stopped processor left unacked (default 10 s). */
  ackWaitMs?: number;
  metrics?: ProcessorMetrics | undefined;
}

export interface DeciderHandle {
  stop(): Promise<void>;
}

const MAX_CAS_RETRIES = 5;
const NOT_REGISTERED: RegisterView = { declarant: undefined, trader: undefined };

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

const unpublished = (s: DeclarationState): boolean => s.decisions.some((d) => d.position === 0);

/**
 * Publishes the decisions of `state` not yet confirmed on the stream (position 0), oldest first, each under
 * `<declaration>:<index>`, then records their positions in the KV entry written at `revision` (or, when
 * another instance wrote since, in its newer state).
 */
async function publishPending(
  deps: DeciderDeps,
  key: string,
  state: DeclarationState,
  revision: number,
): Promise<void> {
  const positions = new Map<number, number>();
  for (const [i, d] of state.decisions.entries()) {
    if (d.position !== 0) continue;
    const ack = await deps.js.publish(subjects.decision(key), Decision.encode(d).finish(), {
      msgID: `${key}:${i}`,
    });
    if (!ack.duplicate) {
      deps.metrics?.decisions.inc({
        channel: channelToJSON(d.channel).replace('CHANNEL_', '').toLowerCase(),
      });
    }
    positions.set(i, ack.seq);
  }
  if (positions.size === 0) return;
  let current = state;
  let rev = revision;
  for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
    let changed = false;
    for (const [i, seq] of positions) {
      const d = current.decisions[i];
      if (d !== undefined && d.position === 0) {
        d.position = seq;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      await deps.buckets.declarations.update(key, encodeDeclarationState(current), rev);
      return;
    } catch {
      const entry = await deps.buckets.declarations.get(key);
      if (entry === null || entry.operation !== 'PUT') return;
      current = decodeDeclarationState(entry.value);
      rev = entry.revision;
    }
  }
  throw new Error(`declaration ${key}: too many concurrent writers while recording decision positions`);
}

/** 'ack' when done (or nothing to do), 'term' when it can never succeed and was dead-lettered. */
/**
 * Declarants known to be on record. A declarant, once recorded, stays (nothing deletes from ps_declarants), so
 * a positive answer can be remembered; a negative one cannot. Saves a KV read for every declaration of a
 * declarant seen before. Cleared when full, which only costs reads.
 */
class KnownDeclarants {
  private readonly known = new Set<string>();
  constructor(private readonly max = 100_000) {}
  has(taxCode: string): boolean {
    return this.known.has(taxCode);
  }
  add(taxCode: string): void {
    if (this.known.size >= this.max) this.known.clear();
    this.known.add(taxCode);
  }
}

async function handle(
  deps: DeciderDeps,
  known: KnownDeclarants,
  selection: (version: string | undefined) => SelectionKey,
  msg: JsMsg,
): Promise<'ack' | 'term'> {
  let cmd: DeclarationCommand;
  try {
    cmd = DeclarationCommand.decode(msg.data);
  } catch (err) {
    await deadLetter(deps.js, STREAM_CUSTOMS, msg, `undecodable command: ${(err as Error).message}`);
    return 'term';
  }
  const key = cmd.declarationNumber || (cmd.declaration?.declarationNumber ?? '');
  const { declarations, declarants } = deps.buckets;
  const isKnown = async (taxCode: string): Promise<boolean> => {
    if (taxCode === '') return false;
    if (known.has(taxCode)) return true;
    const yes = (await declarants.get(taxCode))?.operation === 'PUT';
    if (yes) known.add(taxCode);
    return yes;
  };
  for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
    // The two reads are independent when the command carries the declaration (a submission or amendment):
    // one round trip instead of two before the decision can be made.
    const carried = cmd.declaration;
    const [entry, knownFromCommand, register] = await Promise.all([
      declarations.get(key),
      carried === undefined ? undefined : isKnown(carried.declarantTaxCode),
      // The enterprise register: only an assessment (submission, amendment) reads it.
      carried === undefined
        ? NOT_REGISTERED
        : registerView(deps.buckets.enterprises, carried.declarantTaxCode, carried.traderTaxCode),
    ]);
    const live = entry !== null && entry.operation === 'PUT';
    const prev = live ? decodeDeclarationState(entry.value) : undefined;
    const taxCode = carried?.declarantTaxCode ?? prev?.declaration.declarantTaxCode ?? '';
    const declarantKnown = knownFromCommand ?? (await isKnown(taxCode));
    const rules = deps.rules();
    const t = transition(
      prev,
      cmd,
      rules,
      {
        declarantKnown,
        unmanifestedBills: cmd.unmanifestedBillNumbers,
        selection: selection(rules.randomInspection.secretVersion),
        register,
        now: new Date(),
      },
      new Date(),
    );
    if (t.kind === 'unchanged') {
      // Applied already, maybe by an instance that stopped before finishing: finish its work (all idempotent).
      if (prev !== undefined && entry !== null)
        await afterDecision(deps, key, prev, entry.revision, declarantKnown);
      return 'ack';
    }
    if (t.kind === 'refused') {
      await deadLetter(deps.js, STREAM_CUSTOMS, msg, t.reason);
      return 'term';
    }
    let revision: number;
    try {
      const bytes = encodeDeclarationState(t.state);
      revision = live
        ? await declarations.update(key, bytes, entry.revision)
        : await declarations.create(key, bytes);
    } catch (err) {
      // Another instance wrote first: re-read; the command may already be applied there.
      deps.logger.debug({ err, key, attempt }, 'declaration state changed under us, retrying');
      continue;
    }
    await afterDecision(deps, key, t.state, revision, declarantKnown);
    return 'ack';
  }
  throw new Error(`declaration ${key}: too many concurrent writers`);
}

/**
 * What follows a decision recorded in the state at `revision`, all at once: publishing it (then recording its
 * position), marking the declarant known, and giving each listed container its customs and release status.
 * Each is idempotent, so a redelivered command that finds its decision already recorded runs this again.
 */
async function afterDecision(
  deps: DeciderDeps,
  key: string,
  state: DeclarationState,
  revision: number,
  declarantKnown: boolean,
): Promise<void> {
  const taxCode = state.declaration.declarantTaxCode;
  const status = state.decisions.at(-1)?.status;
  await Promise.all([
    unpublished(state) ? publishPending(deps, key, state, revision) : undefined,
    declarantKnown || taxCode === ''
      ? undefined
      : deps.buckets.declarants.put(taxCode, new TextEncoder().encode(key)),
    ...(status === undefined
      ? []
      : state.declaration.containerNumbers.map((c) =>
          linkDeclaration(
            deps.buckets.containers,
            c,
            key,
            status,
            deps.buckets.declarations,
            state.declaration.billNumbers,
          ),
        )),
  ]);
}

export async function startCustomsDecider(deps: DeciderDeps): Promise<DeciderHandle> {
  await ensureConsumer(deps.jsm, deps.ackWaitMs ?? 10_000);
  const consumer = await deps.js.consumers.get(STREAM_CUSTOMS, CUSTOMS_CONSUMER);
  const concurrency = deps.concurrency ?? 64;
  const queue = new PQueue({ concurrency });
  const tails = new Map<string, Promise<void>>();
  const known = new KnownDeclarants();
  const ephemeral = { version: `ephemeral-${randomBytes(4).toString('hex')}`, secret: randomBytes(32) };
  const selection = deps.selection ?? (() => ephemeral);
  const messages = await consumer.consume({ max_messages: concurrency * 2 });

  const run = async (msg: JsMsg): Promise<void> => {
    const done = deps.metrics?.handlerSeconds.startTimer({ consumer: CUSTOMS_CONSUMER });
    const count = (outcome: string): void => {
      done?.();
      deps.metrics?.messages.inc({ consumer: CUSTOMS_CONSUMER, outcome });
    };
    try {
      // A plain ack, no round trip: if it is lost, the redelivered command finds its decision recorded and
      // only repeats the idempotent follow-up (afterDecision).
      if ((await handle(deps, known, selection, msg)) === 'term') {
        msg.term();
        count('dead_letter');
      } else {
        msg.ack();
        count('ack');
      }
    } catch (err) {
      count('retry');
      deps.logger.warn(
        { err, seq: msg.seq, redelivery: msg.info.deliveryCount },
        'customs command failed, retrying',
      );
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
