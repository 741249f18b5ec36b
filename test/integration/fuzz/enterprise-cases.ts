// Hostile requests for the EnterpriseService (the enterprise register): invalid tax codes, unknown priorities, bad
// licence HS prefixes, missing reasons, huge repeated fields, far expected revisions.
import {
  GetEnterpriseRequest,
  ListEnterprisesRequest,
  PutEnterpriseRequest,
  type Enterprise,
} from '../../../proto/gen/portstream/v1/enterprise.js';
import { EnterprisePriority } from '../../../proto/gen/portstream/v1/customs.js';
import { tag, varint, type Rng } from '../../helpers/fuzz.js';
import { buf, INPUT, MARK, S, type Case, type MethodCases } from './case-kit.js';

/** Valid tax codes (check digit) for the register's keys. */
const TAX_CODES = ['0100109106', '0100107518', '0100109106-001'];
const BAD_TAX = [
  '',
  '0100109107',
  '01001091060',
  '0100109106001',
  '../../x',
  'A'.repeat(5000),
  `0100${MARK}`,
];

const enterprise = (rng: Rng, over: Partial<Enterprise> = {}): Enterprise => ({
  taxCode: rng.pick(TAX_CODES),
  name: 'Fuzz Trading JSC',
  priority: rng.pick([EnterprisePriority.STANDARD, EnterprisePriority.PRIORITY, EnterprisePriority.AEO]),
  watchListed: false,
  watchReason: '',
  licences: [{ reference: 'GP-1/BCT', hsPrefixes: ['3004'], validUntil: new Date('2030-01-01T00:00:00Z') }],
  ...over,
});

const put = (e: Enterprise, reason = 'fuzz', expectedRevision = 0): Buffer =>
  buf(PutEnterpriseRequest.encode({ enterprise: e, reason, expectedRevision }).finish());

const invalid = (cls: string, messages: Buffer[]): Case => ({ cls, messages, expect: S.INVALID_ARGUMENT });

export const ENTERPRISE_CASES: Record<string, MethodCases> = {
  '/portstream.v1.EnterpriseService/PutEnterprise': {
    allowed: [...INPUT, S.FAILED_PRECONDITION],
    valid: (rng) => put(enterprise(rng)),
    hostile: (rng) => [
      ...BAD_TAX.map((taxCode) => invalid('badTaxCode', [put(enterprise(rng, { taxCode }))])),
      ...[0, 4, 99, -1].map((priority) =>
        invalid('unknownEnum:priority', [put(enterprise(rng, { priority }))]),
      ),
      ...['', '30A4', '3', '12345678901', MARK].map((p) =>
        invalid('badHsPrefix', [
          put(enterprise(rng, { licences: [{ reference: 'L', hsPrefixes: [p], validUntil: undefined }] })),
        ]),
      ),
      invalid('noReason', [put(enterprise(rng), '')]),
      invalid('watchWithoutReason', [put(enterprise(rng, { watchListed: true, watchReason: '' }))]),
      invalid('noEnterprise', [
        buf(
          PutEnterpriseRequest.encode({ enterprise: undefined, reason: 'x', expectedRevision: 0 }).finish(),
        ),
      ]),
      invalid('hugeRepeated:licences', [
        put(
          enterprise(rng, {
            licences: Array.from({ length: 2000 }, () => ({
              reference: 'L',
              hsPrefixes: ['3004'],
              validUntil: undefined,
            })),
          }),
        ),
      ]),
      {
        cls: 'staleExpectedRevision',
        messages: [put(enterprise(rng), 'cas', 2 ** 40)],
        expect: S.FAILED_PRECONDITION,
      },
      {
        cls: 'int64Overflow:expectedRevision',
        messages: [Buffer.concat([put(enterprise(rng), 'cas'), tag(3, 0), varint((1n << 63n) + 5n)])],
        expect: S.INVALID_ARGUMENT,
      },
    ],
  },
  '/portstream.v1.EnterpriseService/GetEnterprise': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: (rng) => buf(GetEnterpriseRequest.encode({ taxCode: rng.pick(TAX_CODES) }).finish()),
    hostile: () =>
      BAD_TAX.map((taxCode) =>
        invalid('badTaxCode', [buf(GetEnterpriseRequest.encode({ taxCode }).finish())]),
      ),
  },
  '/portstream.v1.EnterpriseService/ListEnterprises': {
    allowed: INPUT,
    valid: () => buf(ListEnterprisesRequest.encode({}).finish()),
    hostile: () => [],
  },
};
