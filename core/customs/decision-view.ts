// What each party reads of a decision. Customs and admin see everything; a firm (declarant or trader) sees the
// channel, status and next steps, but not which rules fired, their reasons (thresholds, reference unit prices),
// the rule-set version, the selection secret version or an officer's note: what a firm could use to learn the
// rule book and shape its next declaration around it. Every answer that carries a decision to a caller goes
// through here (CustomsService, the tracking API).
import { Role, type Principal } from '../auth/principal.js';
import type { Decision } from '../../proto/gen/portstream/v1/customs.js';

export function seesRules(p: Principal): boolean {
  return p.role === Role.Customs || p.role === Role.Admin;
}

/** The decision as this caller may read it. */
export function decisionFor(p: Principal, d: Decision): Decision {
  if (seesRules(p)) return d;
  return { ...d, rules: [], ruleSetVersion: '', note: '', selectionSecretVersion: '' };
}

export function decisionsFor(p: Principal, ds: readonly Decision[]): Decision[] {
  return ds.map((d) => decisionFor(p, d));
}
