import { describe, expect, it } from 'vitest';
import { decodeDeclarationState, encodeDeclarationState } from '../../core/state/declaration.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import { Channel, ClearanceStatus, InspectionOutcome } from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction } from '../../proto/gen/portstream/v1/records.js';
import type { DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import { transition } from '../../core/customs/transition.js';
import type { Transition } from '../../core/customs/transition.js';
import { ruleSetSchema } from '../../core/customs/rules/schema.js';
import { laptopDeclaration } from '../helpers/declarations.js';

const rules = ruleSetSchema.parse({ version: 'r7', highRiskOrigins: ['KP'] });
const ctx = {
  declarantKnown: true,
  unmanifestedBills: [],
  selection: { version: 'test-secret', secret: new Uint8Array(32).fill(7) },
  register: { declarant: undefined, trader: undefined },
  now: new Date('2026-11-29T00:00:00Z'),
};
const now = new Date('2026-11-23T00:00:01Z');

const declaration = (origin = 'CN'): Declaration => laptopDeclaration('108625440120', origin, 'Viettel');

const cmd = (
  id: string,
  action: DeclarationAction,
  over: Partial<DeclarationCommand> = {},
): DeclarationCommand => ({
  commandId: id,
  action,
  receivedTime: new Date('2026-11-23T00:00:00.998Z'),
  source: 'test',
  declaration: undefined,
  declarationNumber: '108625440120',
  reason: '',
  outcome: InspectionOutcome.UNSPECIFIED,
  inspector: '',
  unmanifestedBillNumbers: [],
  ledger: undefined,
  ...over,
});

const applied = (t: Transition): Extract<Transition, { kind: 'apply' }> => {
  if (t.kind !== 'apply') throw new Error(`expected apply, got ${t.kind}`);
  return t;
};

const submit = (origin = 'CN'): DeclarationState =>
  applied(
    transition(
      undefined,
      cmd('c1', DeclarationAction.SUBMIT, { declaration: declaration(origin) }),
      rules,
      ctx,
      now,
    ),
  ).state;

describe('declaration life cycle', () => {
  it('a clean submission is cleared green with version and latency', () => {
    const t = applied(
      transition(
        undefined,
        cmd('c1', DeclarationAction.SUBMIT, { declaration: declaration() }),
        rules,
        ctx,
        now,
      ),
    );
    expect(t.decision).toMatchObject({
      channel: Channel.GREEN,
      status: ClearanceStatus.CLEARED,
      revision: 1,
      ruleSetVersion: 'r7',
      decisionLatencyUs: 2000,
    });
  });

  it('the same command or the same declaration again changes nothing', () => {
    const s = submit();
    expect(
      transition(s, cmd('c1', DeclarationAction.SUBMIT, { declaration: declaration() }), rules, ctx, now)
        .kind,
    ).toBe('unchanged');
    expect(
      transition(s, cmd('c2', DeclarationAction.SUBMIT, { declaration: declaration() }), rules, ctx, now)
        .kind,
    ).toBe('unchanged');
  });

  it('an amendment of a held declaration is assessed again as a new revision', () => {
    const red = submit('KP');
    expect(red.decisions[0]?.status).toBe(ClearanceStatus.PHYSICAL_INSPECTION);
    const t = applied(
      transition(
        red,
        cmd('c2', DeclarationAction.AMEND, { declaration: declaration('CN') }),
        rules,
        ctx,
        now,
      ),
    );
    expect(t.decision.revision).toBe(2);
    expect(t.decision.status).toBe(ClearanceStatus.CLEARED);
    expect(t.state.decisions).toHaveLength(2);
  });

  it('amending or cancelling a cleared declaration is refused', () => {
    const cleared = submit();
    expect(
      transition(cleared, cmd('c2', DeclarationAction.AMEND, { declaration: declaration() }), rules, ctx, now)
        .kind,
    ).toBe('refused');
    expect(transition(cleared, cmd('c3', DeclarationAction.CANCEL), rules, ctx, now).kind).toBe('refused');
    expect(
      transition(
        undefined,
        cmd('c4', DeclarationAction.AMEND, { declaration: declaration() }),
        rules,
        ctx,
        now,
      ).kind,
    ).toBe('refused');
  });

  it('cancellation of an open declaration', () => {
    const t = applied(
      transition(
        submit('KP'),
        cmd('c2', DeclarationAction.CANCEL, { reason: 'wrong ship' }),
        rules,
        ctx,
        now,
      ),
    );
    expect(t.decision.status).toBe(ClearanceStatus.CANCELLED);
    expect(t.decision.note).toContain('wrong ship');
  });

  it('inspection passed releases, failed refuses, and only when held', () => {
    const held = submit('KP');
    const pass = applied(
      transition(
        held,
        cmd('c2', DeclarationAction.INSPECTION_RESULT, { outcome: InspectionOutcome.PASSED, inspector: 'N' }),
        rules,
        ctx,
        now,
      ),
    );
    expect(pass.decision.status).toBe(ClearanceStatus.CLEARED);
    expect(pass.decision.channel).toBe(Channel.RED);
    const fail = applied(
      transition(
        held,
        cmd('c3', DeclarationAction.INSPECTION_RESULT, { outcome: InspectionOutcome.FAILED }),
        rules,
        ctx,
        now,
      ),
    );
    expect(fail.decision.status).toBe(ClearanceStatus.REFUSED);
    expect(
      transition(
        pass.state,
        cmd('c4', DeclarationAction.INSPECTION_RESULT, { outcome: InspectionOutcome.PASSED }),
        rules,
        ctx,
        now,
      ).kind,
    ).toBe('refused');
  });

  it('state survives its KV encoding', () => {
    const s = applied(transition(submit('KP'), cmd('c2', DeclarationAction.CANCEL), rules, ctx, now)).state;
    const back = decodeDeclarationState(encodeDeclarationState(s));
    expect(back).toEqual(s);
  });
});
