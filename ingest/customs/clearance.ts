// The customs gateway's side of a command: persist it in PS_CUSTOMS, then wait for the decision it causes on
// the decision subject (the message the processor stores in PS_DECISIONS) until a deadline; PENDING when none
// comes in time. A decision already on record (the same declaration submitted again) is answered at once.
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

export interface ClearanceDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  declarations: KV;
}

export async function readState(kv: KV, n: string): Promise<DeclarationState | undefined> {
  const e = await kv.get(n);
  return e && e.operation === 'PUT' ? decodeDeclarationState(e.value) : undefined;
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

/**
 * Persists a command and waits up to waitMs for the first decision on that declaration beyond `afterCount`
 * decisions (the number on record before the command). Returns undefined when none came in time.
 */
export async function commandAndWait(
  deps: ClearanceDeps,
  action: DeclarationAction,
  n: string,
  fields: Partial<DeclarationCommand>,
  waitMs: number,
): Promise<Decision | undefined> {
  const before = await readState(deps.declarations, n);
  const first = before?.decisions[0];
  if (action === DeclarationAction.SUBMIT && first) {
    const stored = await onStream(deps, n, first);
    if (stored) return stored;
  }
  // A resubmission whose first decision is not on the stream yet waits for that one.
  const afterCount = action === DeclarationAction.SUBMIT ? 0 : (before?.decisions.length ?? 0);
  // Subscribe before publishing so the decision cannot slip between the two.
  const sub = deps.nc.subscribe(subjects.decision(n));
  try {
    const commandId = fields.commandId ?? randomUUID();
    const cmd = DeclarationCommand.fromPartial({
      ...fields,
      commandId,
      action,
      declarationNumber: n,
      receivedTime: new Date(),
    });
    await deps.js.publish(subjects.customsCommand(n), DeclarationCommand.encode(cmd).finish(), {
      msgID: commandId,
    });
    const timer = setTimeout(
      () => {
        sub.unsubscribe();
      },
      Math.max(0, waitMs),
    );
    try {
      // A decision made between our read and our subscribe is on record: check once more.
      const now = await readState(deps.declarations, n);
      const made = now?.decisions[afterCount];
      const stored = made && (await onStream(deps, n, made));
      if (stored) return stored;
      for await (const m of sub) {
        const d = Decision.decode(m.data);
        // The core message carries no stream sequence: look the position up in the stream.
        const stored = await deps.jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: m.subject });
        if (stored) {
          const last = Decision.decode(stored.data);
          if (last.revision === d.revision && last.status === d.status) d.position = stored.seq;
        }
        return d;
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    sub.unsubscribe();
  }
}

/** Submission id: the declaration number makes a resubmission the same command (deduplicated by JetStream). */
export function submit(
  deps: ClearanceDeps,
  decl: Declaration,
  waitMs: number,
): Promise<Decision | undefined> {
  return commandAndWait(
    deps,
    DeclarationAction.SUBMIT,
    decl.declarationNumber,
    {
      commandId: `submit:${decl.declarationNumber}`,
      declaration: decl,
    },
    waitMs,
  );
}
