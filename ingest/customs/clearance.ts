// The customs gateway's side of a command: persist it in PS_CUSTOMS, then wait for the decision it causes, as
// delivered by the gateway's decision feed (decision-feed.ts), until a deadline; PENDING when none comes in time.
// A decision already on record (the same declaration submitted again) is answered at once.
import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction, DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { DecisionFeed, DecisionWaiter } from './decision-feed.js';

export interface ClearanceDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  declarations: KV;
  feed: DecisionFeed;
}

export async function readState(kv: KV, n: string): Promise<DeclarationState | undefined> {
  const e = await kv.get(n);
  return e && e.operation === 'PUT' ? decodeDeclarationState(e.value) : undefined;
}

/**
 * A waiter on the declaration's decisions registered before its state was read: decisions made before the read
 * are in `state`, later ones reach the waiter. Close the waiter when done.
 */
export interface Watched {
  waiter: DecisionWaiter;
  state: DeclarationState | undefined;
}

export async function watchAndRead(deps: ClearanceDeps, n: string): Promise<Watched> {
  await deps.feed.ready();
  const waiter = deps.feed.watch(n);
  try {
    return { waiter, state: await readState(deps.declarations, n) };
  } catch (err) {
    waiter.close();
    throw err;
  }
}

/**
 * The decision from KV once it is on the decision stream, with its position; undefined while the processor
 * has recorded it but not yet published it (it publishes after its compare-and-set, and records the position
 * after that).
 */
async function onStream(deps: ClearanceDeps, n: string, d: Decision): Promise<Decision | undefined> {
  if (d.position > 0) return d;
  const stored = await deps.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: subjects.decision(n) });
  if (!stored) return undefined;
  const last = Decision.decode(stored.data);
  return last.revision === d.revision && last.status === d.status
    ? { ...d, position: stored.seq }
    : undefined;
}

/** Publishes the command with a new id unless it carries one; resolves with its stream sequence. */
export async function publishCommand(
  deps: ClearanceDeps,
  action: DeclarationAction,
  n: string,
  fields: Partial<DeclarationCommand>,
): Promise<number> {
  const commandId = fields.commandId ?? randomUUID();
  const cmd = DeclarationCommand.fromPartial({
    ...fields,
    commandId,
    action,
    declarationNumber: n,
    receivedTime: new Date(),
  });
  const ack = await deps.js.publish(subjects.customsCommand(n), DeclarationCommand.encode(cmd).finish(), {
    msgID: commandId,
  });
  return ack.seq;
}

/**
 * Persists a submission and waits up to waitMs for the declaration's first decision. Returns undefined when
 * none came in time.
 */
export async function submit(
  deps: ClearanceDeps,
  decl: Declaration,
  waitMs: number,
  watched: Watched,
  fields: Partial<DeclarationCommand> = {},
): Promise<Decision | undefined> {
  const n = decl.declarationNumber;
  const first = watched.state?.decisions[0];
  if (first) {
    const stored = await onStream(deps, n, first);
    if (stored) return stored;
  }
  // The declaration number makes a resubmission the same command (deduplicated by JetStream). A resubmission
  // whose first decision is not on the stream yet waits for that one: its publisher publishes it.
  await publishCommand(deps, DeclarationAction.SUBMIT, n, {
    ...fields,
    commandId: `submit:${n}`,
    declaration: decl,
  });
  return watched.waiter.next(0, waitMs);
}
