// Valid customs declarations for tests, one per channel under the default rules, with unique numbers.
import {
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import type { KV } from '@nats-io/kv';
import { encodeEnterpriseRecord } from '../../core/state/enterprise.js';
import { DEFAULT_RULES } from '../../core/customs/rules/store.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';

/**
 * The default rules without random inspection: a sample's channel is then fixed whatever selection secret the
 * decider draws with (a random one per decider in tests).
 */
export const TEST_RULES: RuleSet = {
  ...DEFAULT_RULES,
  randomInspection: { ...DEFAULT_RULES.randomInspection, rate: 0 },
};

/** The firm's own tax code (test-kit/auth.ts) and another enterprise's. */
export const FIRM_TAX = '0100109106';
export const OTHER_TAX = '0100107518';

export type Kind = 'green' | 'yellow' | 'red';

/**
 * Puts OTHER_TAX (the samples' trader) on the enterprise register as AEO, which is what makes a 'green' sample
 * green: the declaration's own priority claim counts for nothing.
 */
export async function registerSampleEnterprises(register: KV): Promise<void> {
  await register.put(
    OTHER_TAX,
    encodeEnterpriseRecord({
      enterprise: {
        taxCode: OTHER_TAX,
        name: 'Sample Trading JSC',
        priority: EnterprisePriority.AEO,
        watchListed: false,
        watchReason: '',
        licences: [],
      },
      revision: 0,
      changedBy: 'test',
      changedTime: new Date(),
      reason: 'test fixture',
    }),
  );
}

/** 12-digit declaration numbers from base upwards: each test file picks its own base. */
/** One laptop (HS 84713020, 500 USD) from `origin`: green under rules that only mind high-risk origins. */
export function laptopDeclaration(n: string, origin = 'CN', traderName = 'T'): Declaration {
  return {
    declarationNumber: n,
    type: DeclarationType.IMPORT,
    declarantTaxCode: FIRM_TAX,
    traderTaxCode: FIRM_TAX,
    traderName,
    priority: EnterprisePriority.STANDARD,
    goods: [
      {
        hsCode: '84713020',
        description: 'laptops',
        quantity: 1,
        unit: 'PCE',
        customsValue: { currencyCode: 'USD', units: 500, nanos: 0 },
        originCountry: origin,
        grossWeightKg: 3,
      },
    ],
    containerNumbers: [],
    vessel: undefined,
    portOfLoading: 'CNSHA',
    portOfDischarge: 'VNHPH',
    documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'I' }],
    customsOffice: '03CC',
    declaredTime: undefined,
    billNumbers: [],
  };
}

export function numberSequence(base = 108600000000): () => string {
  let serial = 0;
  return () => String(base + ++serial);
}

/**
 * Samples under the default rules: an AEO enterprise (on the register: registerSampleEnterprises) with ordinary
 * goods is GREEN; tobacco (HS chapter 24) is
 * YELLOW; goods from a high-risk origin are RED.
 */
export function sampleDeclaration(
  kind: Kind,
  declarationNumber: string,
  over: Partial<Declaration> = {},
): Declaration {
  return {
    declarationNumber,
    type: DeclarationType.IMPORT,
    declarantTaxCode: OTHER_TAX,
    traderTaxCode: OTHER_TAX,
    traderName: 'Sample Trading JSC',
    priority: kind === 'green' ? EnterprisePriority.AEO : EnterprisePriority.STANDARD,
    goods: [
      {
        hsCode: kind === 'yellow' ? '24022090' : '84713020',
        description: kind === 'yellow' ? 'cigarettes' : 'laptops',
        quantity: 10,
        unit: 'PCE',
        customsValue: { currencyCode: 'USD', units: 5000, nanos: 0 },
        originCountry: kind === 'red' ? 'KP' : 'CN',
        grossWeightKg: 30,
      },
    ],
    containerNumbers: [],
    vessel: undefined,
    portOfLoading: 'CNSHA',
    portOfDischarge: 'VNHPH',
    documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'INV-1' }],
    customsOffice: '03CC',
    declaredTime: new Date('2026-11-20T08:00:00Z'),
    billNumbers: [],
    ...over,
  };
}
