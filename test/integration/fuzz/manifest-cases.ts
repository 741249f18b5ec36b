// Hostile ManifestService input: manifests breaking each validation rule (carrier and bill codes, parties, routes
// against the flow, containers, cargo lines, limits, invalid UTF-8) and call ids or bill numbers that are
// malformed or unknown.
import {
  CargoFlow,
  FileManifestRequest,
  GetBillOfLadingRequest,
  GetManifestRequest,
  WithdrawManifestRequest,
  type BillOfLading,
  type CargoManifest,
} from '../../../proto/gen/portstream/v1/manifest.js';
import { containerNumber } from '../../../test-kit/events.js';
import { withInvalidUtf8, type Rng } from '../../helpers/fuzz.js';
import { bill, FIRM_A, manifest, party, VESSEL_IN } from '../../helpers/manifests.js';
import { buf, INPUT, MARK, S, type Case, type MethodCases } from './case-kit.js';

let serial = 0;
const billNumber = (rng: Rng): string => `HLCUFZ${rng.digits(6)}${String(serial++ % 100).padStart(2, '0')}`;

export function validManifest(rng: Rng): CargoManifest {
  return manifest('HLCU', VESSEL_IN, [
    bill(billNumber(rng), CargoFlow.IMPORT, [containerNumber('FZZ', rng.int(999_999))], {
      consignee: party(FIRM_A),
    }),
  ]);
}

const first = (m: CargoManifest): BillOfLading => m.bills[0] as BillOfLading;

const BAD_MANIFESTS: Record<string, (rng: Rng, m: CargoManifest) => void> = {
  carrier: (rng, m) => (m.carrierCode = rng.pick(['', 'hlcu', 'TOOLONG', "H' OR 1", MARK])),
  terminal: (rng, m) => m.facility && (m.facility.terminalCode = rng.pick(['', 'x', '../..', MARK])),
  port: (rng, m) => m.facility && (m.facility.unLocode = rng.pick(['XXHPH', 'VN', 'vnhph'])),
  imo: (_rng, m) => m.vessel && (m.vessel.imoNumber = '9456789'),
  voyage: (rng, m) => m.vessel && (m.vessel.voyage = rng.pick(['', '-1', 'x'.repeat(30)])),
  billNumber: (rng, m) => (first(m).billNumber = rng.pick(['', 'ab', 'BL-1', 'X'.repeat(36), MARK])),
  flow: (rng, m) => (first(m).flow = rng.pick<number>([0, 4, 99, -1])),
  route: (_rng, m) => (first(m).portOfDischarge = 'SGSIN'),
  partyTaxCode: (rng, m) => (first(m).consignee = party(rng.pick(['0100109107', '12', MARK]))),
  partyName: (_rng, m) => (first(m).consignee = { taxCode: FIRM_A, name: '', countryCode: 'VN' }),
  country: (_rng, m) => (first(m).shipper = { taxCode: '', name: 'x', countryCode: 'ZZ' }),
  container: (rng, m) => {
    const c = first(m).containers[0];
    if (c) c.containerNumber = rng.pick(['MSCU1234567', '', 'nope', MARK]);
  },
  weight: (rng, m) => {
    const c = first(m).containers[0];
    if (c) c.grossWeightKg = rng.pick([-1, Number.NaN, Number.POSITIVE_INFINITY, 1e9]);
  },
  hsCode: (_rng, m) => {
    const l = first(m).cargo[0];
    if (l) l.hsCode = '12';
  },
  packages: (_rng, m) => {
    const l = first(m).cargo[0];
    if (l) l.packages = 0;
  },
  noBills: (_rng, m) => (m.bills = []),
  longText: (_rng, m) => {
    const l = first(m).cargo[0];
    if (l) l.description = 'd'.repeat(513);
  },
};

const BAD_CALLS = [
  '',
  'VNHPH',
  'VNHPH-HICT-9811000',
  '../../x',
  "VNHPH-HICT-9811000-1' OR 1",
  `VNHPH-${MARK}`,
];
const BAD_BILLS = ['', 'ab', 'bl-1', 'X'.repeat(36), `BL${MARK}`];

const fileBody = (m: CargoManifest, expectedVersion = 0): Buffer =>
  buf(FileManifestRequest.encode({ manifest: m, expectedVersion }).finish());

export const MANIFEST_CASES: Record<string, MethodCases> = {
  '/portstream.v1.ManifestService/FileManifest': {
    allowed: [...INPUT, S.ALREADY_EXISTS, S.FAILED_PRECONDITION],
    valid: (rng) => fileBody(validManifest(rng)),
    hostile: (rng) => {
      const cases: Case[] = [];
      for (const [name, spoil] of Object.entries(BAD_MANIFESTS)) {
        const m = validManifest(rng);
        spoil(rng, m);
        cases.push({
          cls: `invalid:${name}`,
          messages: [withInvalidUtf8(fileBody(m), MARK)],
          expect: S.INVALID_ARGUMENT,
        });
      }
      cases.push({ cls: 'missingManifest', messages: [Buffer.alloc(0)], expect: S.INVALID_ARGUMENT });
      // Over the bill limit, or over the message limit first (INVALID_ARGUMENT or RESOURCE_EXHAUSTED).
      const many = validManifest(rng);
      many.bills = Array.from({ length: 5001 }, () => ({ ...first(many), billNumber: billNumber(rng) }));
      cases.push({ cls: 'tooManyBills', messages: [fileBody(many)] });
      cases.push({
        cls: 'staleVersion',
        messages: [fileBody(validManifest(rng), 2 ** 32 - 1)],
        expect: S.FAILED_PRECONDITION,
      });
      cases.push({
        cls: 'otherCarrier',
        messages: [fileBody({ ...validManifest(rng), carrierCode: 'MAEU' })],
        expect: S.PERMISSION_DENIED,
      });
      return cases;
    },
  },
  '/portstream.v1.ManifestService/WithdrawManifest': {
    allowed: [...INPUT, S.NOT_FOUND, S.FAILED_PRECONDITION],
    valid: () =>
      buf(
        WithdrawManifestRequest.encode({
          callId: 'VNHPH-HICT-9811000-2346W',
          carrierCode: 'HLCU',
          expectedVersion: 1,
          reason: 'x',
        }).finish(),
      ),
    hostile: (rng) => [
      ...BAD_CALLS.map((callId) => ({
        cls: 'invalid:callId',
        messages: [
          withInvalidUtf8(
            buf(
              WithdrawManifestRequest.encode({
                callId,
                carrierCode: 'HLCU',
                expectedVersion: 1,
                reason: MARK,
              }).finish(),
            ),
            MARK,
          ),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
      {
        cls: 'unknownCall',
        messages: [
          buf(
            WithdrawManifestRequest.encode({
              callId: `VNHPH-HICT-9811000-${rng.int(1000)}X`,
              carrierCode: 'HLCU',
              expectedVersion: 1,
              reason: '',
            }).finish(),
          ),
        ],
        expect: S.NOT_FOUND,
      },
    ],
  },
  '/portstream.v1.ManifestService/GetManifest': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(GetManifestRequest.encode({ callId: 'VNHPH-HICT-9811000-2346W', carrierCode: 'HLCU' }).finish()),
    hostile: () => [
      ...BAD_CALLS.map((callId) => ({
        cls: 'invalid:callId',
        messages: [
          withInvalidUtf8(buf(GetManifestRequest.encode({ callId, carrierCode: 'HLCU' }).finish()), MARK),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
      {
        cls: 'invalid:carrierCode',
        messages: [
          buf(
            GetManifestRequest.encode({ callId: 'VNHPH-HICT-9811000-2346W', carrierCode: 'hl.>' }).finish(),
          ),
        ],
        expect: S.INVALID_ARGUMENT,
      },
    ],
  },
  '/portstream.v1.ManifestService/GetBillOfLading': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: (rng) => buf(GetBillOfLadingRequest.encode({ billNumber: billNumber(rng) }).finish()),
    hostile: () =>
      BAD_BILLS.map((billNumber) => ({
        cls: 'invalid:billNumber',
        messages: [withInvalidUtf8(buf(GetBillOfLadingRequest.encode({ billNumber }).finish()), MARK)],
        expect: S.INVALID_ARGUMENT,
      })),
  },
};
