// Amend, cancel and inspection-result commands from the gateway's side: persist the command in PS_CUSTOMS and
// wait for its outcome, which is either the decision it causes (on the decision subject) or its refusal: the
// decider terminates a command it can never apply and records it on the dead-letter subject with the command's
// PS_CUSTOMS sequence and the reason. Both subjects are subscribed before the command is published, so neither
// outcome can slip past. Undecided when neither comes in time.
import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { Msg } from '@nats-io/nats-core';
import { STREAM_CUSTOMS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { DeclarationAction } from '../../proto/gen/portstream/v1/records.js';
import type { ClearanceDeps } from './clearance.js';
import { readState } from './clearance.js';

export type CommandOutcome =
  { kind: 'decided'; decision: Decision } | { kind: 'refused'; reason: string } | { kind: 'undecided' };

/** The fields of a dead-letter record (processor/customs/dead-letter.ts) this side reads. */
interface DeadLetterView {
  streamSeq?: unknown;
  reason?: unknown;
}

function refusalOf(m: Msg, seq: number): string | undefined {
  try {
    const r = JSON.parse(new TextDecoder().decode(m.data)) as DeadLetterView;
    return r.streamSeq === seq ? (typeof r.reason === 'string' ? r.reason : 'refused') : undefined;
  } catch {
    return undefined;
  }
}

/** The decision as stored in PS_DECISIONS, with its position (the core message carries no sequence). */
async function withPosition(deps: ClearanceDeps, d: Decision, subject: string): Promise<Decision> {
  const stored = await deps.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: subject });
  if (stored) {
    const last = Decision.decode(stored.data);
    if (last.revision === d.revision && last.status === d.status) d.position = stored.seq;
  }
  return d;
}

/**
 * Persists the command and waits up to waitMs for the first decision on the declaration beyond those on record
 * before it, or for the command's refusal.
 */
export async function runCommand(
  deps: ClearanceDeps,
  action: DeclarationAction,
  n: string,
  fields: Partial<DeclarationCommand>,
  waitMs: number,
): Promise<CommandOutcome> {
  const declarations: KV = deps.declarations;
  const afterCount = (await readState(declarations, n))?.decisions.length ?? 0;
  const decisionSubject = subjects.decision(n);
  const decisions = deps.nc.subscribe(decisionSubject);
  const refusals = deps.nc.subscribe(subjects.deadLetter(STREAM_CUSTOMS));
  let timer: NodeJS.Timeout | undefined;
  try {
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
    const outcome = new Promise<CommandOutcome>((resolve) => {
      timer = setTimeout(
        () => {
          resolve({ kind: 'undecided' });
        },
        Math.max(0, waitMs),
      );
      void (async () => {
        for await (const m of refusals) {
          const reason = refusalOf(m, ack.seq);
          if (reason !== undefined) {
            resolve({ kind: 'refused', reason });
            return;
          }
        }
      })();
      void (async () => {
        for await (const m of decisions) {
          let d: Decision;
          try {
            d = Decision.decode(m.data);
          } catch {
            continue;
          }
          const decision = await withPosition(deps, d, m.subject).catch(() => d);
          resolve({ kind: 'decided', decision });
          return;
        }
      })();
      // A decision made between our first read and the subscription is on record: check once more.
      void readState(declarations, n).then(
        (now) => {
          const made = now?.decisions[afterCount];
          if (made) resolve({ kind: 'decided', decision: made });
        },
        () => undefined,
      );
    });
    return await outcome;
  } finally {
    if (timer) clearTimeout(timer);
    decisions.unsubscribe();
    refusals.unsubscribe();
  }
}
