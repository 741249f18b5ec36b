import { describe, expect, it } from 'vitest';
import {
  Channel,
  DeclarationType,
  DocumentType,
  EnterprisePriority,
} from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration, GoodsItem } from '../../proto/gen/portstream/v1/customs.js';
import { assess, inspectionDraw, RuleCode } from '../../core/customs/rules/engine.js';
import type { RiskContext } from '../../core/customs/rules/engine.js';
import { ruleSetSchema } from '../../core/customs/rules/schema.js';
import type { Enterprise, EnterpriseRecord } from '../../proto/gen/portstream/v1/enterprise.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';

const rules: RuleSet = ruleSetSchema.parse({
  version: 't1',
  highRiskHsChapters: [
    { chapter: 93, channel: 'RED' },
    { chapter: 24, channel: 'YELLOW' },
  ],
  licenceRequired: ['3004'],
  referenceUnitPrices: [
    { hsPrefix: '85', currency: 'USD', unitPrice: 10 },
    { hsPrefix: '8517', currency: 'USD', unitPrice: 100, unit: 'PCE' },
  ],
  valueAnomaly: { lowRatio: 0.5, highRatio: 3, channel: 'YELLOW' },
  highRiskOrigins: ['KP'],
  highRiskPorts: ['IRBND'],
});

const goods = (over: Partial<GoodsItem> = {}): GoodsItem => ({
  hsCode: '851712',
  description: 'phones',
  quantity: 10,
  unit: 'PCE',
  customsValue: { currencyCode: 'USD', units: 1000, nanos: 0 },
  originCountry: 'CN',
  grossWeightKg: 5,
  ...over,
});

const decl = (over: Partial<Declaration> = {}): Declaration => ({
  declarationNumber: '103456789012',
  type: DeclarationType.IMPORT,
  declarantTaxCode: '0101234567',
  traderTaxCode: '0101234567',
  traderName: 'ACME',
  priority: EnterprisePriority.STANDARD,
  goods: [goods()],
  containerNumbers: ['MSCU1234565'],
  vessel: undefined,
  portOfLoading: 'CNSHA',
  portOfDischarge: 'VNHPH',
  documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'INV-1' }],
  customsOffice: '03CC',
  declaredTime: undefined,
  billNumbers: [],
  ...over,
});

const SECRET = { version: 'test-a', secret: Buffer.alloc(32, 1) };
const NOW = new Date('2026-11-29T00:00:00Z');
const known: RiskContext = {
  declarantKnown: true,
  unmanifestedBills: [],
  selection: SECRET,
  register: { declarant: undefined, trader: undefined },
  now: NOW,
};

/** A register entry for ACME (the samples' declarant and trader). */
const entry = (over: Partial<Enterprise> = {}, revision = 7): EnterpriseRecord => ({
  enterprise: {
    taxCode: '0101234567',
    name: 'ACME',
    priority: EnterprisePriority.STANDARD,
    watchListed: false,
    watchReason: '',
    licences: [],
    ...over,
  },
  revision,
  changedBy: 'customs',
  changedTime: NOW,
  reason: 'test',
});
const registered = (e: EnterpriseRecord): RiskContext => ({
  ...known,
  register: { declarant: e, trader: e },
});
const codes = (d: Declaration, ctx: RiskContext = known, rs: RuleSet = rules): string[] =>
  assess(d, ctx, rs).rules.map((r) => r.code);

describe('risk engine', () => {
  it('clears a clean declaration green with no rules fired', () => {
    expect(assess(decl(), known, rules)).toEqual({ channel: Channel.GREEN, rules: [] });
  });

  it('high-risk HS chapter asks for the channel the rule names', () => {
    const red = assess(decl({ goods: [goods({ hsCode: '930100' })] }), known, rules);
    expect(red.channel).toBe(Channel.RED);
    expect(red.rules.map((r) => r.code)).toContain(RuleCode.HS_HIGH_RISK_CHAPTER);
    const yellow = assess(
      decl({ goods: [goods({ hsCode: '240220', customsValue: undefined })] }),
      known,
      rules,
    );
    expect(yellow.channel).toBe(Channel.YELLOW);
  });

  it('licence goods go green only with a valid licence on the register, not an attached document', () => {
    const pharma = goods({ hsCode: '30049099', customsValue: undefined });
    expect(assess(decl({ goods: [pharma] }), known, rules).channel).toBe(Channel.YELLOW);
    expect(codes(decl({ goods: [pharma] }))).toEqual([RuleCode.LICENCE_MISSING]);
    const attached = decl({
      goods: [pharma],
      documents: [{ type: DocumentType.IMPORT_LICENCE, reference: 'LIC-9' }],
    });
    expect(assess(attached, known, rules).channel).toBe(Channel.YELLOW);
    const lic = { reference: 'LIC-9', hsPrefixes: ['3004'], validUntil: new Date('2027-01-01T00:00:00Z') };
    expect(assess(attached, registered(entry({ licences: [lic] })), rules).channel).toBe(Channel.GREEN);
    const expired = { ...lic, validUntil: new Date('2026-01-01T00:00:00Z') };
    expect(assess(attached, registered(entry({ licences: [expired] })), rules).channel).toBe(Channel.YELLOW);
    const otherGoods = { ...lic, hsPrefixes: ['2844'] };
    expect(assess(attached, registered(entry({ licences: [otherGoods] })), rules).channel).toBe(
      Channel.YELLOW,
    );
  });

  it("ignores the declaration's own AEO claim: an unregistered firm gets what it gets without the claim", () => {
    // The same phones at 1 USD a piece, by a first-time declarant: VALUE_ANOMALY and FIRST_TIME_DECLARANT.
    const cheap = goods({ quantity: 1000, customsValue: { currencyCode: 'USD', units: 1000, nanos: 0 } });
    const ctx = { ...known, declarantKnown: false };
    const plain = assess(decl({ goods: [cheap] }), ctx, rules);
    const claimed = assess(decl({ goods: [cheap], priority: EnterprisePriority.AEO }), ctx, rules);
    expect(plain.channel).toBe(Channel.YELLOW);
    expect(claimed).toEqual(plain);
    // Registered as AEO by customs: the soft rules no longer raise the channel.
    const aeo = assess(
      decl({ goods: [cheap] }),
      { ...registered(entry({ priority: EnterprisePriority.AEO })), declarantKnown: false },
      rules,
    );
    expect(aeo.channel).toBe(Channel.GREEN);
    expect(aeo.rules.at(-1)?.reason).toContain('register revision 7');
  });

  it('a watch-listed declarant or trader goes to the watch-list channel, AEO or not', () => {
    const watched = entry({
      priority: EnterprisePriority.AEO,
      watchListed: true,
      watchReason: 'undervaluation',
    });
    const a = assess(decl(), registered(watched), rules);
    expect(a.channel).toBe(Channel.RED);
    expect(a.rules.map((r) => r.code)).toEqual([RuleCode.WATCH_LIST]);
    const broker = { ...known, register: { declarant: watched, trader: undefined } };
    expect(assess(decl(), broker, rules).channel).toBe(Channel.RED);
  });

  it('first-time declarant goes yellow', () => {
    const a = assess(decl(), { ...known, declarantKnown: false }, rules);
    expect(a.channel).toBe(Channel.YELLOW);
    expect(a.rules.map((r) => r.code)).toEqual([RuleCode.FIRST_TIME_DECLARANT]);
  });

  it('value anomaly uses the longest matching reference price, both too low and too high', () => {
    // 1000 USD / 10 PCE = 100 = reference of 8517: fine although 10x the chapter-85 reference.
    expect(codes(decl())).toEqual([]);
    const cheap = goods({ customsValue: { currencyCode: 'USD', units: 200, nanos: 0 } });
    expect(assess(decl({ goods: [cheap] }), known, rules).channel).toBe(Channel.YELLOW);
    expect(codes(decl({ goods: [cheap] }))).toEqual([RuleCode.VALUE_ANOMALY]);
    const dear = goods({ customsValue: { currencyCode: 'USD', units: 4000, nanos: 0 } });
    expect(codes(decl({ goods: [dear] }))).toEqual([RuleCode.VALUE_ANOMALY]);
    const otherCurrency = goods({ customsValue: { currencyCode: 'EUR', units: 1, nanos: 0 } });
    expect(codes(decl({ goods: [otherCurrency] }))).toEqual([]);
  });

  it('high-risk origin and route go red', () => {
    expect(assess(decl({ goods: [goods({ originCountry: 'KP' })] }), known, rules).channel).toBe(Channel.RED);
    const route = assess(decl({ portOfLoading: 'IRBND' }), known, rules);
    expect(route.channel).toBe(Channel.RED);
    expect(route.rules.map((r) => r.code)).toEqual([RuleCode.HIGH_RISK_ROUTE]);
  });

  it('cargo whose bill is on no manifest goes red; manifested bills fire nothing', () => {
    const d = decl({ billNumbers: ['HLCUHPH000001', 'HLCUHPH000002'] });
    const a = assess(d, { ...known, unmanifestedBills: ['HLCUHPH000002'] }, rules);
    expect(a.channel).toBe(Channel.RED);
    expect(a.rules.map((r) => r.code)).toEqual([RuleCode.CARGO_NOT_MANIFESTED]);
    expect(a.rules[0]?.reason).toContain('HLCUHPH000002');
    expect(a.rules[0]?.reason).not.toContain('HLCUHPH000001');
    expect(codes(d, known)).toEqual([]);
  });

  it('priority/AEO stays green over soft rules but not over hard ones', () => {
    const aeo = { priority: EnterprisePriority.AEO };
    const aeoCtx = registered(entry(aeo));
    const firstTime = assess(decl(), { ...aeoCtx, declarantKnown: false }, rules);
    expect(firstTime.channel).toBe(Channel.GREEN);
    expect(firstTime.rules.map((r) => r.code)).toEqual([
      RuleCode.FIRST_TIME_DECLARANT,
      RuleCode.PRIORITY_ENTERPRISE,
    ]);
    const hard = assess(decl({ goods: [goods({ hsCode: '930100' })] }), aeoCtx, rules);
    expect(hard.channel).toBe(Channel.RED);
    const noPriority = ruleSetSchema.parse({ ...rules, priorityGreen: false });
    expect(assess(decl(), { ...aeoCtx, declarantKnown: false }, noPriority).channel).toBe(Channel.YELLOW);
  });

  it('random inspection is deterministic per declaration number and close to the rate', () => {
    const rs = ruleSetSchema.parse({ ...rules, randomInspection: { rate: 0.1, seed: 's', channel: 'RED' } });
    let picked = 0;
    for (let i = 0; i < 2000; i++) {
      const n = String(100000000000 + i);
      const a = assess(decl({ declarationNumber: n }), known, rs);
      const b = assess(decl({ declarationNumber: n }), known, rs);
      expect(b).toEqual(a);
      if (a.channel === Channel.RED) {
        picked++;
        expect(a.rules.map((r) => r.code)).toEqual([RuleCode.RANDOM_INSPECTION]);
      }
    }
    expect(picked).toBeGreaterThan(140);
    expect(picked).toBeLessThan(260);
    expect(inspectionDraw(SECRET.secret, 's', '1')).not.toBe(inspectionDraw(SECRET.secret, 't', '1'));
  });

  it('two deployments with different secrets select differently on the same declarations', () => {
    const rs = ruleSetSchema.parse({ ...rules, randomInspection: { rate: 0.2, seed: 's', channel: 'RED' } });
    const other = { ...known, selection: { version: 'test-b', secret: Buffer.alloc(32, 2) } };
    const picked = (ctx: RiskContext): Set<string> => {
      const out = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const n = String(100000000000 + i);
        if (codes(decl({ declarationNumber: n }), ctx, rs).includes(RuleCode.RANDOM_INSPECTION)) out.add(n);
      }
      return out;
    };
    const a = picked(known);
    const b = picked(other);
    // Each selects about its rate, but not the same declarations: about rate² of them in common.
    for (const s of [a, b]) {
      expect(s.size).toBeGreaterThan(140);
      expect(s.size).toBeLessThan(260);
    }
    const both = [...a].filter((n) => b.has(n)).length;
    expect(both).toBeLessThan(a.size / 2);
    // The same secret selects the same again (replay).
    expect(picked({ ...known, selection: { version: 'test-a', secret: Buffer.alloc(32, 1) } })).toEqual(a);
  });

  it('the strictest rule decides when several fire', () => {
    const d = decl({ goods: [goods({ hsCode: '240220', customsValue: undefined, originCountry: 'KP' })] });
    const a = assess(d, { ...known, declarantKnown: false }, rules);
    expect(a.channel).toBe(Channel.RED);
    expect(a.rules.map((r) => r.code).sort()).toEqual(
      [RuleCode.FIRST_TIME_DECLARANT, RuleCode.HIGH_RISK_ORIGIN, RuleCode.HS_HIGH_RISK_CHAPTER].sort(),
    );
  });
});
