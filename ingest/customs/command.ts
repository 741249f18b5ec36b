// Amend, cancel and inspection-result commands from the gateway's side: persist the command in PS_CUSTOMS and
// wait for its outcome, which is either the decision it causes (from the gateway's decision feed) or its
// refusal: the decider terminates a command it can never apply and records it on the dead-letter subject with
// the command's PS_CUSTOMS sequence and the reason. Both are listened for before the command is published, so
// neither outcome can slip past. Undecided when neither comes in time.
import type { Msg } from '@nats-io/nats-core';
import { STREAM_CUSTOMS, subjects } from '../../core/nats/topology.js';
import type { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { Decision } from '../../proto/gen/portstream/v1/customs.js';
import type { DeclarationAction } from '../../proto/gen/portstream/v1/records.js';
import { publishCommand, watchAndRead, type ClearanceDeps } from './clearance.js';

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
  const { waiter, state } = await watchAndRead(deps, n);
  const afterCount = state?.decisions.length ?? 0;
  const refusals = deps.nc.subscribe(subjects.deadLetter(STREAM_CUSTOMS));
  try {
    const seq = await publishCommand(deps, action, n, fields);
    return await new Promise<CommandOutcome>((resolve) => {
      let done = false;
      const finish = (o: CommandOutcome): void => {
        if (done) return;
        done = true;
        resolve(o);
      };
      void (async () => {
        for await (const m of refusals) {
          const reason = refusalOf(m, seq);
          if (reason !== undefined) {
            finish({ kind: 'refused', reason });
            waiter.close();
            return;
          }
        }
      })();
      void waiter.next(afterCount, waitMs).then((decision) => {
        finish(decision ? { kind: 'decided', decision } : { kind: 'undecided' });
      });
    });
  } finally {
    waiter.close();
    refusals.unsubscribe();
  }
}
