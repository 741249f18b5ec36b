// The risk engine: a pure function from a declaration, what the processor knows about its context (declarant
// history, whether its bills are on a carrier's manifest) and a rule set to a channel and the rules that fired. Pure so that every
// decision can be replayed and audited from the same inputs.
import { createHmac } from 'node:crypto';
import { Channel, EnterprisePriority } from '../../../proto/gen/portstream/v1/customs.js';
import type { Declaration, RuleHit } from '../../../proto/gen/portstream/v1/customs.js';
import type { RuleChannel, RuleSet } from './schema.js';
import type { SelectionKey } from './selection.js';
import type { RegisterView } from '../../state/enterprise.js';
import type { EnterpriseRecord } from '../../../proto/gen/portstream/v1/enterprise.js';

export interface RiskContext {
  /** The declarant has had a declaration assessed before. */
  declarantKnown: boolean;
  /** Bills of lading the declaration names that were on no carrier's filed manifest when it was received. */
  unmanifestedBills: readonly string[];
  /** The deployment's secret for random inspection (selection.ts). */
  selection: SelectionKey;
  /**
   * The parties' entries on the enterprise register customs keeps: the only source of priority/AEO status,
   * watch listing and licences (the declaration's own `priority` claim is ignored).
   */
  register: RegisterView;
  /** When the decision is made: licences must be valid then. */
  now: Date;
}

export interface Assessment {
  channel: Channel;
  rules: RuleHit[];
}

/** Rule codes; stable, clients match on them. */
export const RuleCode = {
  HS_HIGH_RISK_CHAPTER: 'HS_HIGH_RISK_CHAPTER',
  LICENCE_MISSING: 'LICENCE_MISSING',
  FIRST_TIME_DECLARANT: 'FIRST_TIME_DECLARANT',
  VALUE_ANOMALY: 'VALUE_ANOMALY',
  HIGH_RISK_ORIGIN: 'HIGH_RISK_ORIGIN',
  HIGH_RISK_ROUTE: 'HIGH_RISK_ROUTE',
  CARGO_NOT_MANIFESTED: 'CARGO_NOT_MANIFESTED',
  RANDOM_INSPECTION: 'RANDOM_INSPECTION',
  WATCH_LIST: 'WATCH_LIST',
  PRIORITY_ENTERPRISE: 'PRIORITY_ENTERPRISE',
} as const;

// Hard rules hold even a priority/AEO enterprise; soft ones are recorded but do not raise its channel.
const SOFT = new Set<string>([
  RuleCode.FIRST_TIME_DECLARANT,
  RuleCode.VALUE_ANOMALY,
  RuleCode.RANDOM_INSPECTION,
]);

const toChannel = (c: RuleChannel): Channel =>
  c === 'RED' ? Channel.RED : c === 'YELLOW' ? Channel.YELLOW : Channel.GREEN;

const amount = (m: { units: number; nanos: number }): number => m.units + m.nanos / 1e9;

/** The registered licence of the enterprise that covers the HS code and is valid at `now`, if any. */
function licenceFor(e: EnterpriseRecord | undefined, hsCode: string, now: Date): string | undefined {
  const l = e?.enterprise?.licences.find(
    (x) =>
      x.hsPrefixes.some((p) => hsCode.startsWith(p)) &&
      (x.validUntil === undefined || x.validUntil.getTime() > now.getTime()),
  );
  return l?.reference;
}

/**
 * A value in [0, 1) fixed by the secret, the rules' seed and the declaration number: the same declaration always
 * draws the same under the same secret, and without the secret nobody can tell what a number draws.
 */
export function inspectionDraw(secret: Uint8Array, seed: string, declarationNumber: string): number {
  const digest = createHmac('sha256', secret).update(`${seed}:${declarationNumber}`).digest();
  return digest.readUInt32BE(0) / 0x1_0000_0000;
}

export function assess(decl: Declaration, ctx: RiskContext, rules: RuleSet): Assessment {
  const hits: RuleHit[] = [];
  const hit = (code: string, reason: string, channel: RuleChannel): void => {
    hits.push({ code, reason, channel: toChannel(channel) });
  };
  const { register } = ctx;

  decl.goods.forEach((g, i) => {
    const chapter = Number(g.hsCode.slice(0, 2));
    const risky = rules.highRiskHsChapters.find((c) => c.chapter === chapter);
    if (risky)
      hit(RuleCode.HS_HIGH_RISK_CHAPTER, `goods[${i}] HS chapter ${chapter} is high risk`, risky.channel);

    const licence = rules.licenceRequired.find((p) => g.hsCode.startsWith(p));
    // A licence counts when customs has it on record for the trader; an attached document is only a claim.
    if (licence && licenceFor(register.trader, g.hsCode, ctx.now) === undefined) {
      hit(
        RuleCode.LICENCE_MISSING,
        `goods[${i}] HS ${g.hsCode} needs a licence; none on the register for ${decl.traderTaxCode}`,
        'YELLOW',
      );
    }

    if (rules.highRiskOrigins.includes(g.originCountry)) {
      hit(
        RuleCode.HIGH_RISK_ORIGIN,
        `goods[${i}] origin ${g.originCountry} is high risk`,
        rules.highRiskOriginChannel,
      );
    }

    const value = g.customsValue;
    if (value && g.quantity > 0) {
      const refs = rules.referenceUnitPrices.filter(
        (r) =>
          g.hsCode.startsWith(r.hsPrefix) &&
          r.currency === value.currencyCode &&
          (r.unit === undefined || r.unit === g.unit),
      );
      const ref = refs.sort((a, b) => b.hsPrefix.length - a.hsPrefix.length)[0];
      if (ref) {
        const ratio = amount(value) / g.quantity / ref.unitPrice;
        const { lowRatio, highRatio, channel } = rules.valueAnomaly;
        if (ratio < lowRatio || ratio > highRatio) {
          const pct = Math.round(ratio * 100);
          hit(
            RuleCode.VALUE_ANOMALY,
            `goods[${i}] unit price is ${pct}% of the reference for ${ref.hsPrefix}`,
            channel,
          );
        }
      }
    }
  });

  for (const port of [decl.portOfLoading, decl.portOfDischarge]) {
    if (rules.highRiskPorts.includes(port)) {
      hit(RuleCode.HIGH_RISK_ROUTE, `route via ${port} is high risk`, rules.highRiskOriginChannel);
    }
  }

  if (ctx.unmanifestedBills.length > 0) {
    hit(
      RuleCode.CARGO_NOT_MANIFESTED,
      `bill ${ctx.unmanifestedBills.join(', ')} is on no carrier's cargo manifest`,
      rules.unlistedContainerChannel,
    );
  }

  if (!ctx.declarantKnown) {
    hit(
      RuleCode.FIRST_TIME_DECLARANT,
      `first declaration by ${decl.declarantTaxCode}`,
      rules.firstTimeDeclarantChannel,
    );
  }

  const { rate, seed, channel: randomChannel } = rules.randomInspection;
  if (rate > 0 && inspectionDraw(ctx.selection.secret, seed, decl.declarationNumber) < rate) {
    hit(RuleCode.RANDOM_INSPECTION, `selected for random inspection (rate ${rate})`, randomChannel);
  }

  const watched = [register.declarant, register.trader].filter((e) => e?.enterprise?.watchListed === true);
  for (const e of new Set(watched)) {
    hit(
      RuleCode.WATCH_LIST,
      `${e?.enterprise?.taxCode ?? ''} is on the watch list (register revision ${String(e?.revision)}): ${e?.enterprise?.watchReason ?? ''}`,
      rules.watchListChannel,
    );
  }

  // Priority treatment comes from the register entry of the trader, never from the declaration's claim.
  const standing = register.trader?.enterprise?.priority;
  const priority =
    rules.priorityGreen &&
    watched.length === 0 &&
    (standing === EnterprisePriority.PRIORITY || standing === EnterprisePriority.AEO);
  let channel = Channel.GREEN;
  for (const h of hits) {
    if (priority && SOFT.has(h.code)) continue;
    if (h.channel > channel) channel = h.channel;
  }
  if (priority)
    hits.push({
      code: RuleCode.PRIORITY_ENTERPRISE,
      reason: `priority/AEO enterprise per register revision ${String(register.trader?.revision)}`,
      channel: Channel.GREEN,
    });
  return { channel, rules: hits };
}
