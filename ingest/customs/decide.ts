// The customs decision, made by the gateway that received the command: read the declaration's ledger head (one
// stream read, with the enterprise register and the declarant's history beside it), run the pure transition
// (risk rules for a submission or amendment, outcome for a cancellation or inspection result) and append the
// command with its decision as one PS_CUSTOMS message, only if the head is still the one decided from. That one
// write is the decision: once it is acked it is on record, and the answer goes to the caller at once. A gateway
// that lost the race to another (LedgerConflict) reads again and decides from the newer head, which may already
// hold its command (the same command applied is answered, never applied twice). Container links, the declarants
// seen, the decision feed and analytics are projections of the ledger, off the caller's path (processor/customs).
//
// A submission usually needs no read at all, so its one round trip is the append: the register is read from the
// gateway's mirror of it (core/nats/kv-mirror.ts), the declarant from the declarants this gateway knows, and a
// new number is presumed new (CommandPlan.presumeNew): its entry is appended expecting an empty ledger. A
// number in use makes that append fail as any lost race does, and the next attempt reads the head and answers
// from it (the same content by the same declarant) or refuses. The ledger records the register entries the
// rules read, so a decision replays the same whichever gateway made it.
import { randomBytes } from 'node:crypto';
import {
  EMPTY_HEAD,
  LedgerConflict,
  ledgerEntry,
  type LedgerHead,
  type LedgerStore,
  type NumberBinding,
} from '../../core/customs/ledger.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';
import type { SelectionKey } from '../../core/customs/rules/selection.js';
import { transition } from '../../core/customs/transition.js';
import { PortstreamError, ErrorCode } from '../../core/errors.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import { registerView, type EntryReader, type RegisterView } from '../../core/state/enterprise.js';
import type { Declaration, Decision } from '../../proto/gen/portstream/v1/customs.js';
import type { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';

export interface DeciderDeps {
  /** The declarations' ledger on PS_CUSTOMS (core/customs/ledger.ts). */
  ledger: LedgerStore;
  /** ps_declarants: declarants with a declaration assessed before (a projection of the ledger). */
  declarants: EntryReader;
  /** ps_enterprises: the register customs keeps (priority, watch list, licences). */
  enterprises: EntryReader;
  rules: () => RuleSet;
  /** The selection secret by the version the rules name; unset: a random secret for this process's life. */
  selection?: ((version: string | undefined) => SelectionKey) | undefined;
}

/** The decision a command led to; `fresh` when this call recorded it (not found on record). */
export interface Decided {
  decision: Decision;
  state: DeclarationState;
  fresh: boolean;
  /** The head the caller's checks ran on (the last one read). */
  head: LedgerHead;
}

export type { LedgerStore };

/** A command as the service runs it: built from the head it is decided on, checked, answered when on record. */
export interface CommandPlan {
  /** The command to decide on this head (its id may depend on the head, e.g. which hold a result ends). */
  command(head: LedgerHead): DeclarationCommand;
  /** The decision answering the command when the head shows it applied already; undefined otherwise. */
  applied(head: LedgerHead, cmd: DeclarationCommand): Decision | undefined;
  /** Throws (ALREADY_EXISTS, FAILED_PRECONDITION, NOT_FOUND) when the command may not go ahead on this head. */
  check(head: LedgerHead): void;
  /** Whom the number is bound to when the command creates the declaration. */
  binding?: NumberBinding;
  /** The declaration the command carries (submit, amend): the rules' other inputs are read with the head. */
  carried?: Declaration;
  /**
   * The command usually finds no ledger (a submission): the first attempt decides on an empty head without
   * reading it, and appends expecting none; the store refuses the append if there is one.
   */
  presumeNew?: boolean;
}

/** Appends lost to other writers this many times in a row: give up with a retryable error. */
const MAX_ATTEMPTS = 8;
const NOT_REGISTERED: RegisterView = { declarant: undefined, trader: undefined };

/**
 * Declarants known to have had a declaration assessed. Nothing removes one from ps_declarants, so a positive
 * answer is kept (and this gateway's own decisions add theirs at once, before the projection records them).
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

export class Decider {
  private readonly known = new KnownDeclarants();
  private readonly selection: (version: string | undefined) => SelectionKey;

  constructor(private readonly deps: DeciderDeps) {
    const ephemeral = { version: `ephemeral-${randomBytes(4).toString('hex')}`, secret: randomBytes(32) };
    this.selection = deps.selection ?? (() => ephemeral);
  }

  private async isKnown(taxCode: string): Promise<boolean> {
    if (taxCode === '') return false;
    if (this.known.has(taxCode)) return true;
    const yes = (await this.deps.declarants.get(taxCode))?.operation === 'PUT';
    if (yes) this.known.add(taxCode);
    return yes;
  }

  /** The declaration's ledger head: its current state, read in one step. */
  head(n: string): Promise<LedgerHead> {
    return this.deps.ledger.head(n);
  }

  /** What the rules read besides the declaration: its parties on the register, the declarant's history. */
  private async factsOf(
    carried: Declaration | undefined,
  ): Promise<{ register: RegisterView; declarantKnown: boolean }> {
    if (carried === undefined) return { register: NOT_REGISTERED, declarantKnown: false };
    const [register, declarantKnown] = await Promise.all([
      registerView(this.deps.enterprises, carried.declarantTaxCode, carried.traderTaxCode),
      this.isKnown(carried.declarantTaxCode),
    ]);
    return { register, declarantKnown };
  }

  /**
   * Decides the command and records it, or answers it from the record when it is there already. Rejects with
   * FAILED_PRECONDITION when the command can never apply (the reason the transition gives).
   */
  async run(n: string, plan: CommandPlan): Promise<Decided> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const presumed = attempt === 0 && plan.presumeNew === true;
      const [head, facts] = await Promise.all([
        presumed ? EMPTY_HEAD : this.deps.ledger.head(n),
        this.factsOf(plan.carried),
      ]);
      const cmd = plan.command(head);
      const done = plan.applied(head, cmd);
      if (done !== undefined && head.state !== undefined) {
        return { decision: done, state: head.state, fresh: false, head };
      }
      plan.check(head);
      const prev = head.state;
      const carried = cmd.declaration;
      const { register, declarantKnown } = facts;
      const rules = this.deps.rules();
      const now = new Date();
      const t = transition(
        prev,
        cmd,
        rules,
        {
          declarantKnown,
          unmanifestedBills: cmd.unmanifestedBillNumbers,
          selection: this.selection(rules.randomInspection.secretVersion),
          register,
          now,
        },
        now,
      );
      if (t.kind === 'refused') {
        throw new PortstreamError(ErrorCode.FailedPrecondition, `declaration ${n}: ${t.reason}`);
      }
      if (t.kind === 'unchanged') {
        // Applied already but the plan found no answer in the state (cannot happen for the gateway's plans).
        const last = prev?.decisions.at(-1);
        if (prev === undefined || last === undefined) throw new Error(`declaration ${n}: nothing to answer`);
        return { decision: last, state: prev, fresh: false, head };
      }
      const binding = head.binding ?? plan.binding;
      if (binding === undefined) throw new Error(`declaration ${n}: first command without a binding`);
      const entry = ledgerEntry(cmd, t.state, binding, {
        declarantKnown,
        registerDeclarant: register.declarant,
        registerTrader: carried?.traderTaxCode === carried?.declarantTaxCode ? undefined : register.trader,
      });
      try {
        await this.deps.ledger.append(entry, head.seq);
      } catch (err) {
        if (err instanceof LedgerConflict) continue;
        throw err;
      }
      if (carried !== undefined) this.known.add(carried.declarantTaxCode);
      return { decision: t.decision, state: t.state, fresh: true, head };
    }
    throw new PortstreamError(
      ErrorCode.Unavailable,
      `declaration ${n}: too many concurrent commands on it; retry`,
    );
  }
}
