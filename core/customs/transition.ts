// The declaration life cycle as a pure function: given the stored state (if any) and one command, the next
// state and the decision to publish, or a refusal. Submit/amend are assessed by the risk engine; cancel and
// inspection results record an outcome. Pure, so redelivery and replay give the same answer.
import { Channel, ClearanceStatus, InspectionOutcome } from '../../proto/gen/portstream/v1/customs.js';
import type { Decision } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction } from '../../proto/gen/portstream/v1/records.js';
import type { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import type { DeclarationState } from '../state/declaration.js';
import { assess } from './rules/engine.js';
import { nextSteps } from './next-steps.js';
import type { RiskContext } from './rules/engine.js';
import type { RuleSet } from './rules/schema.js';

export type Transition =
  | { kind: 'apply'; state: DeclarationState; decision: Decision }
  /** Already applied (redelivery) or the same content submitted again: nothing to do. */
  | { kind: 'unchanged' }
  /** Can never succeed (e.g. amend after clearance): dead-letter it with this reason. */
  | { kind: 'refused'; reason: string };

/** The note of an inspection result's decision; a retry of the same result is recognised by it (plans.ts). */
export function inspectionNote(passed: boolean, inspector: string, remarks: string): string {
  return `inspection ${passed ? 'passed' : 'failed'} by ${inspector}${remarks ? `: ${remarks}` : ''}`;
}

const OPEN = new Set([
  ClearanceStatus.PENDING,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
]);

const statusOf = (c: Channel): ClearanceStatus =>
  c === Channel.GREEN
    ? ClearanceStatus.CLEARED
    : c === Channel.YELLOW
      ? ClearanceStatus.DOCUMENT_CHECK
      : ClearanceStatus.PHYSICAL_INSPECTION;

export function currentStatus(s: DeclarationState): ClearanceStatus {
  return s.decisions.at(-1)?.status ?? ClearanceStatus.PENDING;
}

export function transition(
  prev: DeclarationState | undefined,
  cmd: DeclarationCommand,
  rules: RuleSet,
  ctx: RiskContext,
  now: Date,
): Transition {
  if (prev?.appliedCommands.includes(cmd.commandId)) return { kind: 'unchanged' };
  const base = (
    revision: number,
  ): Omit<Decision, 'channel' | 'status' | 'rules' | 'note' | 'nextSteps' | 'selectionSecretVersion'> => ({
    declarationNumber: cmd.declarationNumber || (cmd.declaration?.declarationNumber ?? ''),
    revision,
    ruleSetVersion: rules.version,
    decidedTime: now,
    decisionLatencyUs: cmd.receivedTime
      ? Math.max(0, Math.round((now.getTime() - cmd.receivedTime.getTime()) * 1000))
      : 0,
    position: 0,
  });
  const applied = (s: DeclarationState | undefined): string[] =>
    [...(s?.appliedCommands ?? []), cmd.commandId].slice(-32);

  switch (cmd.action) {
    case DeclarationAction.SUBMIT:
    case DeclarationAction.AMEND: {
      const decl = cmd.declaration;
      if (!decl) return { kind: 'refused', reason: 'command without a declaration' };
      if (cmd.action === DeclarationAction.SUBMIT && prev) return { kind: 'unchanged' };
      if (cmd.action === DeclarationAction.AMEND) {
        if (!prev) return { kind: 'refused', reason: 'amendment of an unknown declaration' };
        if (!OPEN.has(currentStatus(prev)))
          return { kind: 'refused', reason: 'declaration is no longer open' };
      }
      const revision = (prev?.revision ?? 0) + 1;
      const a = assess(decl, ctx, rules);
      const status = statusOf(a.channel);
      const decision: Decision = {
        ...base(revision),
        channel: a.channel,
        status,
        rules: a.rules,
        note: '',
        nextSteps: nextSteps(decl, status, a.rules),
        selectionSecretVersion: rules.randomInspection.rate > 0 ? ctx.selection.version : '',
      };
      return {
        kind: 'apply',
        decision,
        state: {
          declaration: decl,
          revision,
          appliedCommands: applied(prev),
          decisions: [...(prev?.decisions ?? []), decision],
        },
      };
    }
    case DeclarationAction.CANCEL:
    case DeclarationAction.INSPECTION_RESULT: {
      if (!prev) return { kind: 'refused', reason: 'unknown declaration' };
      const status = currentStatus(prev);
      const last = prev.decisions.at(-1);
      let next: ClearanceStatus;
      let note: string;
      if (cmd.action === DeclarationAction.CANCEL) {
        if (!OPEN.has(status)) return { kind: 'refused', reason: 'declaration is no longer open' };
        next = ClearanceStatus.CANCELLED;
        note = `cancelled: ${cmd.reason}`;
      } else {
        if (status !== ClearanceStatus.DOCUMENT_CHECK && status !== ClearanceStatus.PHYSICAL_INSPECTION) {
          return { kind: 'refused', reason: 'declaration is not held for a check or inspection' };
        }
        const passed = cmd.outcome === InspectionOutcome.PASSED;
        if (!passed && cmd.outcome !== InspectionOutcome.FAILED)
          return { kind: 'refused', reason: 'no outcome' };
        next = passed ? ClearanceStatus.CLEARED : ClearanceStatus.REFUSED;
        note = inspectionNote(passed, cmd.inspector, cmd.reason);
      }
      const decision: Decision = {
        ...base(prev.revision),
        channel: last?.channel ?? Channel.UNSPECIFIED,
        status: next,
        rules: [],
        note,
        nextSteps: nextSteps(prev.declaration, next, last?.rules ?? []),
        selectionSecretVersion: '',
      };
      return {
        kind: 'apply',
        decision,
        state: { ...prev, appliedCommands: applied(prev), decisions: [...prev.decisions, decision] },
      };
    }
    default:
      return { kind: 'refused', reason: `unknown action ${String(cmd.action)}` };
  }
}
