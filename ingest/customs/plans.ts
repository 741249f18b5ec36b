// What each customs command is, as the decider runs it (decide.ts): the command built on the ledger head, the
// checks that refuse it with a clear status before anything is written, and the answer when the head shows it
// applied already (a retry, or a re-sent submission). Numbers are bound to their first submission: the
// declarant's tax code and the digest of the declaration as submitted, recorded in its first ledger entry.
import { randomUUID } from 'node:crypto';
import { declarationDigest, type LedgerHead, type NumberBinding } from '../../core/customs/ledger.js';
import { inspectionNote } from '../../core/customs/transition.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import {
  ClearanceStatus,
  Declaration,
  type Decision,
  InspectionOutcome,
} from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction, DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { CommandPlan } from './decide.js';
import { encodeWith } from '../../core/proto/writer.js';

export const OPEN = new Set<ClearanceStatus>([
  ClearanceStatus.PENDING,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
]);
const HELD = new Set<ClearanceStatus>([ClearanceStatus.DOCUMENT_CHECK, ClearanceStatus.PHYSICAL_INSPECTION]);

const STATUS_TEXT: Record<ClearanceStatus, string> = {
  [ClearanceStatus.UNSPECIFIED]: 'in an unknown state',
  [ClearanceStatus.PENDING]: 'pending',
  [ClearanceStatus.CLEARED]: 'cleared',
  [ClearanceStatus.DOCUMENT_CHECK]: 'held for a document check',
  [ClearanceStatus.PHYSICAL_INSPECTION]: 'held for a physical inspection',
  [ClearanceStatus.REFUSED]: 'refused',
  [ClearanceStatus.CANCELLED]: 'cancelled',
  [ClearanceStatus.UNRECOGNIZED]: 'in an unknown state',
};

export const currentStatus = (s: DeclarationState): ClearanceStatus =>
  s.decisions.at(-1)?.status ?? ClearanceStatus.PENDING;

export function notFound(n: string): PortstreamError {
  return new PortstreamError(ErrorCode.NotFound, `declaration ${n} not found`);
}

function failedPrecondition(message: string): PortstreamError {
  return new PortstreamError(ErrorCode.FailedPrecondition, message);
}

const encoded = (d: Declaration): Uint8Array => encodeWith((w) => Declaration.encode(d, w));
const sameContent = (a: Declaration, b: Declaration): boolean => Buffer.compare(encoded(a), encoded(b)) === 0;
const sameBinding = (a: NumberBinding, b: NumberBinding): boolean =>
  a.declarantTaxCode === b.declarantTaxCode && Buffer.from(a.digest).equals(Buffer.from(b.digest));

/** The state a command on an existing declaration needs; NOT_FOUND or FAILED_PRECONDITION otherwise. */
function requireStatus(
  n: string,
  head: LedgerHead,
  allowed: ReadonlySet<ClearanceStatus>,
  what: string,
): DeclarationState {
  const state = head.state;
  if (state === undefined) throw notFound(n);
  const status = currentStatus(state);
  if (!allowed.has(status)) {
    throw failedPrecondition(`declaration ${n} is ${STATUS_TEXT[status]}; it cannot ${what}`);
  }
  return state;
}

function command(
  action: DeclarationAction,
  n: string,
  commandId: string,
  fields: Partial<DeclarationCommand>,
): DeclarationCommand {
  return DeclarationCommand.fromPartial({
    ...fields,
    commandId,
    action,
    declarationNumber: n,
    receivedTime: new Date(),
  });
}

/**
 * A submission. The same declarant re-sending the same content is answered with the declaration's first
 * decision; anything else under a number in use is ALREADY_EXISTS, saying nothing of whose it is.
 */
export function submitPlan(
  submitted: Declaration,
  resolved: Declaration,
  unmanifested: string[],
  source: string,
): CommandPlan {
  const n = resolved.declarationNumber;
  const binding: NumberBinding = {
    declarantTaxCode: submitted.declarantTaxCode,
    digest: declarationDigest(submitted),
  };
  const cmd = command(DeclarationAction.SUBMIT, n, `submit:${n}`, {
    source,
    declaration: resolved,
    unmanifestedBillNumbers: unmanifested,
  });
  return {
    binding,
    carried: resolved,
    // Numbers are new when first submitted; a retry or a number in use is found on the second attempt.
    presumeNew: true,
    command: () => cmd,
    applied: (head) =>
      head.binding !== undefined && sameBinding(head.binding, binding) ? head.state?.decisions[0] : undefined,
    check: (head) => {
      if (head.seq !== 0) {
        throw new PortstreamError(
          ErrorCode.AlreadyExists,
          `declaration number ${n} is already in use by another declaration; submit under a new number ` +
            '(AmendDeclaration changes a declaration)',
        );
      }
    },
  };
}

/** An amendment by customs; the same amendment again is answered with the assessment it got. */
export function amendPlan(
  amended: Declaration,
  unmanifested: string[],
  reason: string,
  source: string,
): CommandPlan {
  const n = amended.declarationNumber;
  const cmd = command(DeclarationAction.AMEND, n, `amend:${n}:${randomUUID()}`, {
    source,
    reason,
    declaration: amended,
    unmanifestedBillNumbers: unmanifested,
  });
  return {
    carried: amended,
    command: () => cmd,
    applied: (head) => {
      const s = head.state;
      if (s === undefined || s.revision <= 1 || !sameContent(s.declaration, amended)) return undefined;
      return s.decisions.find((d) => d.revision === s.revision);
    },
    check: (head) => void requireStatus(n, head, OPEN, 'be amended'),
  };
}

export function cancelPlan(n: string, reason: string, source: string): CommandPlan {
  const cmd = command(DeclarationAction.CANCEL, n, `cancel:${n}`, { source, reason });
  return {
    command: () => cmd,
    // A second cancellation, even a retry, is refused: the declaration is no longer open.
    applied: () => undefined,
    check: (head) => void requireStatus(n, head, OPEN, 'be cancelled'),
  };
}

/** Index of the declaration's last hold (document check or inspection); -1 when it has none. */
const lastHold = (s: DeclarationState | undefined): number =>
  s?.decisions.findLastIndex((d: Decision) => HELD.has(d.status)) ?? -1;

/**
 * An inspection result: one per hold (its command id names the hold it ends). The same result again (a retry
 * after a lost answer: same outcome, inspector and remarks) is answered with the decision it got; any other
 * result for that hold is refused, the declaration being no longer held.
 */
export function inspectionPlan(
  n: string,
  outcome: InspectionOutcome,
  inspector: string,
  remarks: string,
  source: string,
): CommandPlan {
  return {
    command: (head) =>
      command(DeclarationAction.INSPECTION_RESULT, n, `inspection:${n}:${lastHold(head.state)}`, {
        source,
        outcome,
        inspector,
        reason: remarks,
      }),
    applied: (head, cmd) => {
      const s = head.state;
      if (s === undefined || !s.appliedCommands.includes(cmd.commandId)) return undefined;
      const answer = s.decisions[lastHold(s) + 1];
      const passed = outcome === InspectionOutcome.PASSED;
      const same =
        answer?.status === (passed ? ClearanceStatus.CLEARED : ClearanceStatus.REFUSED) &&
        answer.note === inspectionNote(passed, inspector, remarks);
      return same ? answer : undefined;
    },
    check: (head) => void requireStatus(n, head, HELD, 'take an inspection result'),
  };
}
