// A declaration's ledger: its commands on PS_CUSTOMS (subject ps.customs.commands.<number>), each recorded in
// one message together with the decision it caused and the declaration's state after it (DeclarationLedger). The
// subject's last message is the declaration's current state, read in one step; an entry is appended only if that
// last message is still the one it was decided from (Nats-Expected-Last-Subject-Sequence), so the stream itself
// orders a declaration's commands across gateways and a writer that lost the race is told so and decides again.
import { createHash } from 'node:crypto';
import { Declaration, Decision } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationCommand, type DeclarationLedger } from '../../proto/gen/portstream/v1/records.js';
import { CasConflictError, CasSubjects, type PipelinedRequests } from '../nats/pipelined.js';
import { STREAM_CUSTOMS, subjects } from '../nats/topology.js';
import type { DeclarationState } from '../state/declaration.js';
import type { RuleSet } from './rules/schema.js';
import type { SelectionKey } from './rules/selection.js';
import { transition } from './transition.js';
import { encodeWith } from '../proto/writer.js';

/** The first submission's declarant and content digest: the number belongs to these. */
export interface NumberBinding {
  declarantTaxCode: string;
  digest: Uint8Array;
}

/** A declaration's last ledger entry: its state, where the entry is, and whom the number is bound to. */
export interface LedgerHead {
  /** Stream sequence of the last entry; 0 when the declaration has none. */
  seq: number;
  state: DeclarationState | undefined;
  binding: NumberBinding | undefined;
  /** The last entry as stored. */
  entry: DeclarationCommand | undefined;
}

export const EMPTY_HEAD: LedgerHead = { seq: 0, state: undefined, binding: undefined, entry: undefined };

/** sha-256 of the declaration's protobuf encoding, as submitted. */
export function declarationDigest(d: Declaration): Uint8Array {
  return createHash('sha256')
    .update(encodeWith((w) => Declaration.encode(d, w)))
    .digest();
}

/** The state a ledger entry records (its own decision last, with no position yet); undefined without one. */
export function stateOfEntry(cmd: DeclarationCommand): DeclarationState | undefined {
  const l = cmd.ledger;
  const declaration = l?.declaration ?? cmd.declaration;
  if (l?.decision === undefined || declaration === undefined) return undefined;
  return {
    declaration,
    revision: l.revision,
    appliedCommands: l.appliedCommands,
    decisions: [...l.earlierDecisions, l.decision],
  };
}

export function headOf(seq: number, data: Uint8Array): LedgerHead {
  const entry = DeclarationCommand.decode(data);
  const l = entry.ledger;
  return {
    seq,
    state: stateOfEntry(entry),
    binding:
      l === undefined ? undefined : { declarantTaxCode: l.boundDeclarantTaxCode, digest: l.boundDigest },
    entry,
  };
}

/** What the rules read besides the declaration, recorded with the decision for replay. */
export type LedgerInputs = Pick<DeclarationLedger, 'declarantKnown' | 'registerDeclarant' | 'registerTrader'>;

/** The entry recording `cmd` with the decision it caused and the state after it. */
export function ledgerEntry(
  cmd: DeclarationCommand,
  after: DeclarationState,
  binding: NumberBinding,
  inputs: LedgerInputs,
): DeclarationCommand {
  const decision = after.decisions.at(-1);
  if (decision === undefined) throw new Error('a ledger entry records a decision');
  return {
    ...cmd,
    ledger: {
      decision,
      // A submission or amendment carries the declaration already: not stored twice.
      declaration: cmd.declaration === undefined ? after.declaration : undefined,
      revision: after.revision,
      appliedCommands: after.appliedCommands,
      earlierDecisions: after.decisions.slice(0, -1),
      boundDeclarantTaxCode: binding.declarantTaxCode,
      boundDigest: Buffer.from(binding.digest),
      ...inputs,
    },
  };
}

/** Another entry was appended since the head this one was decided from. */
export class LedgerConflict extends Error {
  constructor(n: string) {
    super(`declaration ${n}: the ledger moved on; decide again`);
  }
}

/** Where the ledger is read and appended: one direct get for a head, one publish for an entry. */
export interface LedgerStore {
  head(n: string): Promise<LedgerHead>;
  /**
   * Appends the entry if the declaration's last entry is still at `expectedSeq` (0: it has none); the new
   * entry's sequence, or LedgerConflict when another entry came first.
   */
  append(entry: DeclarationCommand, expectedSeq: number): Promise<number>;
}

/**
 * The ledger over pipelined requests: a direct get of the subject's last message (raw bytes, answered by any
 * replica) rather than the JetStream API's message get (JSON, base64, the leader only), and the append as one
 * publish expecting the head's sequence. The gateway's hot path.
 */
export function pipelinedLedger(req: PipelinedRequests): LedgerStore {
  const subjectsOf = new CasSubjects(req, STREAM_CUSTOMS, subjects.customsCommand(''));
  return {
    async head(n) {
      const e = await subjectsOf.get(n);
      return e === null ? EMPTY_HEAD : headOf(e.revision, e.value);
    },
    async append(entry, expectedSeq) {
      const n = entry.declarationNumber;
      try {
        const bytes = encodeWith((w) => DeclarationCommand.encode(entry, w));
        return await subjectsOf.write(n, bytes, expectedSeq);
      } catch (err) {
        if (err instanceof CasConflictError) throw new LedgerConflict(n);
        throw err;
      }
    },
  };
}

/** The decision's bytes as published on the decision feed (no ledger fields, no position). */
export function decisionBytes(d: Decision): Uint8Array {
  return encodeWith((w) => Decision.encode({ ...d, position: 0 }, w));
}

/**
 * Runs the rules again on each entry of one declaration's ledger (oldest first) with what the entry recorded
 * (its command, the state before it, the register and history it saw, its time) and returns the entries whose
 * decision comes out otherwise: customs' check that a decision followed from its rule set and secret.
 */
export function replayLedger(
  entries: readonly DeclarationCommand[],
  rules: (version: string) => RuleSet | undefined,
  selection: (version: string) => SelectionKey,
): { index: number; recorded: Decision; replayed: Decision | undefined }[] {
  const out: { index: number; recorded: Decision; replayed: Decision | undefined }[] = [];
  let prev: DeclarationState | undefined;
  for (const [index, entry] of entries.entries()) {
    const after = stateOfEntry(entry);
    const recorded = after?.decisions.at(-1);
    const l = entry.ledger;
    if (after === undefined || recorded === undefined || l === undefined) continue;
    const ruleSet = rules(recorded.ruleSetVersion);
    const at = recorded.decidedTime ?? new Date(0);
    const declarant = l.registerDeclarant;
    const t =
      ruleSet === undefined
        ? undefined
        : transition(
            prev,
            { ...entry, ledger: undefined },
            ruleSet,
            {
              declarantKnown: l.declarantKnown,
              unmanifestedBills: entry.unmanifestedBillNumbers,
              selection: selection(recorded.selectionSecretVersion),
              register: {
                declarant,
                trader:
                  entry.declaration?.traderTaxCode === entry.declaration?.declarantTaxCode
                    ? declarant
                    : l.registerTrader,
              },
              now: at,
            },
            at,
          );
    const replayed = t?.kind === 'apply' ? t.decision : undefined;
    const same =
      replayed !== undefined &&
      Buffer.from(Decision.encode({ ...replayed, position: 0 }).finish()).equals(
        Buffer.from(Decision.encode({ ...recorded, position: 0 }).finish()),
      );
    if (!same) out.push({ index, recorded, replayed });
    prev = after;
  }
  return out;
}
