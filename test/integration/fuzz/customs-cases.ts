// Hostile CustomsService input: declarations breaking each validation rule (identifiers, enums, limits, far
// timestamps, invalid UTF-8) and declaration numbers that are malformed, unknown or already submitted.
import type { status } from '@grpc/grpc-js';
import {
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  type Declaration,
} from '../../../proto/gen/portstream/v1/customs.js';
import { containerNumber } from '../../../test-kit/events.js';
import { withInvalidUtf8, type Rng } from '../../helpers/fuzz.js';
import { MINE } from '../api-fixture.js';
import { MARK, S, type Case } from './case-kit.js';

let declSerial = 0;
export const declarationNumber = (rng: Rng): string =>
  `1${rng.digits(9)}${String(declSerial++ % 100).padStart(2, '0')}`;

export function validDeclaration(rng: Rng, number = declarationNumber(rng)): Declaration {
  return {
    declarationNumber: number,
    type: DeclarationType.IMPORT,
    declarantTaxCode: '0100109106',
    traderTaxCode: '0100109106',
    traderName: 'Viettel',
    priority: EnterprisePriority.STANDARD,
    goods: [
      {
        hsCode: '84713020',
        description: 'laptops',
        quantity: 10,
        unit: 'PCE',
        customsValue: { currencyCode: 'USD', units: 5000, nanos: 0 },
        originCountry: 'CN',
        grossWeightKg: 30,
      },
    ],
    containerNumbers: [MINE],
    vessel: { imoNumber: '9074729', name: 'EVER X', voyage: '2346W' },
    portOfLoading: 'CNSHA',
    portOfDischarge: 'VNHPH',
    documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'INV-1' }],
    customsOffice: '03CC',
    declaredTime: new Date(),
    billNumbers: [],
  };
}

const BAD_NUMBERS = [
  '',
  '012345678901',
  '1234',
  '1086254401200',
  'abcdefghijkl',
  "1'; DROP--",
  '{n:String}',
  '１０８６２５４４０１２０',
  `1${MARK}123`,
];

const BAD_DECLARATIONS: Record<string, (rng: Rng, d: Declaration) => Partial<Declaration>> = {
  number: (rng) => ({ declarationNumber: rng.pick(BAD_NUMBERS) }),
  unknownType: (rng) => ({ type: rng.pick<number>([0, 4, 99]) }),
  typeMismatch: () => ({ type: DeclarationType.EXPORT }),
  taxCode: (rng) => ({ declarantTaxCode: rng.pick(['0100109107', '12', "0100109106' OR 1=1"]) }),
  unknownPriority: () => ({ priority: 99 as number }),
  ports: (rng) => ({ portOfLoading: rng.pick(['XXSHA', 'CN', 'cnsha', '../..']) }),
  office: () => ({ customsOffice: '03C' }),
  hsCode: (rng, d) => ({
    goods: [
      {
        ...(d.goods[0] as Declaration['goods'][number]),
        hsCode: rng.pick(['12', '99999999', '7700000', 'ABCDEF', '000000']),
      },
    ],
  }),
  origin: (rng, d) => ({
    goods: [
      { ...(d.goods[0] as Declaration['goods'][number]), originCountry: rng.pick(['ZZ', 'XX', 'cn', '']) },
    ],
  }),
  quantity: (rng, d) => ({
    goods: [
      {
        ...(d.goods[0] as Declaration['goods'][number]),
        quantity: rng.pick([0, -1, Number.NaN, Number.POSITIVE_INFINITY]),
      },
    ],
  }),
  currency: (rng, d) => ({
    goods: [
      {
        ...(d.goods[0] as Declaration['goods'][number]),
        customsValue: { currencyCode: rng.pick(['XYZ', 'us', '']), units: 1, nanos: 0 },
      },
    ],
  }),
  containers: (rng) => ({ containerNumbers: [rng.pick(['MSCU1234567', 'nope', ''])] }),
  imo: () => ({ vessel: { imoNumber: '9456789', name: 'X', voyage: '1W' } }),
  unknownDocument: () => ({ documents: [{ type: 77 as number, reference: 'X' }] }),
  tooManyGoods: (_rng, d) => ({
    goods: Array.from({ length: 1001 }, () => d.goods[0] as Declaration['goods'][number]),
  }),
  tooManyContainers: () => ({
    containerNumbers: Array.from({ length: 501 }, (_, i) => containerNumber('MSC', i)),
  }),
  longText: (_rng, d) => ({
    goods: [{ ...(d.goods[0] as Declaration['goods'][number]), description: 'd'.repeat(513) }],
  }),
  missingGoods: () => ({ goods: [] }),
};

/** Declaration numbers the fuzzer submitted successfully (for amend/cancel/get/inspection). */
export const submitted: string[] = [];

export function customsDeclarationCases(rng: Rng, encode: (d: Declaration) => Buffer): Case[] {
  const cases: Case[] = [];
  for (const [name, make] of Object.entries(BAD_DECLARATIONS)) {
    for (let i = 0; i < 2; i++) {
      const d = validDeclaration(rng);
      cases.push({
        cls: `invalid:${name}`,
        messages: [withInvalidUtf8(encode({ ...d, ...make(rng, d) }), MARK)],
        expect: S.INVALID_ARGUMENT,
      });
    }
  }
  cases.push({
    cls: 'invalidUtf8:declarationNumber',
    messages: [withInvalidUtf8(encode(validDeclaration(rng, `1${MARK}123`)), MARK)],
    expect: S.INVALID_ARGUMENT,
  });
  cases.push({
    cls: 'invalidUtf8:traderName',
    messages: [withInvalidUtf8(encode({ ...validDeclaration(rng), traderName: MARK }), MARK)],
  });
  cases.push({ cls: 'missingDeclaration', messages: [Buffer.alloc(0)], expect: S.INVALID_ARGUMENT });
  for (const at of [-62_135_596_800_000, 0, 8.64e15, -8.64e15]) {
    cases.push({
      cls: 'farTimestamp:declaredTime',
      messages: [encode({ ...validDeclaration(rng), declaredTime: new Date(at) })],
    });
  }
  return cases;
}

export function numberCases(
  rng: Rng,
  encode: (n: string) => Buffer,
  unknown: status | 'any' = S.NOT_FOUND,
): Case[] {
  return [
    ...BAD_NUMBERS.map((n) => ({
      cls: 'invalid:declarationNumber',
      messages: [withInvalidUtf8(encode(n), MARK)],
      expect: S.INVALID_ARGUMENT,
    })),
    {
      cls: 'unknownDeclaration',
      messages: [encode(declarationNumber(rng))],
      ...(unknown === 'any' ? {} : { expect: unknown }),
    },
    ...(submitted.length > 0
      ? [{ cls: 'submittedDeclaration', messages: [encode(rng.pick(submitted))] }]
      : []),
  ];
}
