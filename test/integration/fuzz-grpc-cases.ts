// What the gRPC fuzz test sends to each RPC beyond random and mutated bytes: a valid request to mutate, and
// hand-made hostile requests (invalid identifiers, unknown enum values, far timestamps, invalid UTF-8, huge
// repeated fields, duplicate ids, mixed batches), each with the status it must get. Keyed by method path: the
// test fails for a method that has no entry here, so a new RPC cannot go unfuzzed.
import { status } from '@grpc/grpc-js';
import {
  AmendDeclarationRequest,
  CancelDeclarationRequest,
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  GetDeclarationRequest,
  RecordInspectionResultRequest,
  SubmitDeclarationRequest,
  WatchDecisionsRequest,
  InspectionOutcome,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import {
  EventClassifier,
  type TransportCallLocation,
  type EquipmentEvent,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import { PublishEventsRequest, StreamEventsRequest } from '../../proto/gen/portstream/v1/ingest.js';
import {
  GetClearanceMetricsRequest,
  GetContainerStatusRequest,
  GetThroughputRequest,
  GetVesselVisitRequest,
  ListContainerEventsRequest,
  ListDecisionsRequest,
  ListVesselVisitsRequest,
  WatchContainerRequest,
} from '../../proto/gen/portstream/v1/tracking.js';
import { arrivalEvent, containerNumber, equipmentEvent } from '../helpers/events.js';
import { lenField, tag, varint, withInvalidUtf8, type Rng } from '../helpers/fuzz.js';
import { MINE } from './api-fixture.js';

/** Placeholder replaced by invalid UTF-8 after encoding. */
export const MARK = 'ZQZQZQZQ';

/** How an event of an ingest case must be answered. */
export type EventExpectation = 'accepted' | 'rejected' | 'duplicate' | 'any';

export interface Case {
  cls: string;
  /** One message for unary and server-stream calls; the batches of a StreamEvents call. */
  messages: Buffer[];
  /** The status the call must end with; undefined: any of the method's allowed codes. */
  expect?: status;
  /** Ingest only: per message, per event, how it must be answered. */
  events?: EventExpectation[][];
}

export interface MethodCases {
  /** Error statuses this method may answer hostile input with (OK is always allowed). */
  allowed: status[];
  valid(rng: Rng): Buffer;
  hostile(rng: Rng, limits: { maxBatchEvents: number }): Case[];
}

const S = status;
const INPUT = [S.INVALID_ARGUMENT, S.RESOURCE_EXHAUSTED, S.UNAUTHENTICATED, S.PERMISSION_DENIED];
/** Open server streams are cancelled by the fuzzer after the first message, or end at its deadline. */
const STREAM_END = [S.CANCELLED, S.DEADLINE_EXCEEDED];

const buf = (u: Uint8Array): Buffer => Buffer.from(u);

// ---- ingest ----

let serial = 500_000;
const ids = { n: 0 };
const freshId = (rng: Rng): string => `fz-${rng.int(1e9).toString(36)}-${ids.n++}`;
const goodEvent = (rng: Rng): Event =>
  rng.chance(0.8) ? equipmentEvent(freshId(rng), serial++) : arrivalEvent(freshId(rng));

function equipmentWith(rng: Rng, over: Partial<EquipmentEvent>): Event {
  const e = equipmentEvent(freshId(rng), serial++);
  if (e.payload?.$case === 'equipment') e.payload.value = { ...e.payload.value, ...over };
  return e;
}

const YEAR_MS = 365 * 86_400_000;
const HOUR_MS = 3_600_000;

/** Events each validation must reject. */
export const BAD_EVENTS: Record<string, (rng: Rng) => Event> = {
  containerCheckDigit: (rng) => {
    const good = containerNumber('MSC', serial++);
    const wrong = String((Number(good.at(-1)) + 1 + rng.int(8)) % 10);
    return equipmentWith(rng, { containerNumber: good.slice(0, 10) + wrong });
  },
  containerLowercase: (rng) =>
    equipmentWith(rng, { containerNumber: containerNumber('MSC', 1).toLowerCase() }),
  containerCategory: (rng) => equipmentWith(rng, { containerNumber: 'MSCX1234566' }),
  containerShort: (rng) => equipmentWith(rng, { containerNumber: 'MSCU123' }),
  containerInjection: (rng) => equipmentWith(rng, { containerNumber: "MSCU1234566'; DROP TABLE events; --" }),
  sizeType: (rng) => equipmentWith(rng, { isoSizeType: rng.pick(['99ZZ', '4', '45G1X', '{t:String}']) }),
  imoCheckDigit: (rng) =>
    equipmentWith(rng, { vessel: { imoNumber: '9456789', name: 'DCSA EXAMPLE', voyage: '1W' } }),
  imoText: (rng) =>
    equipmentWith(rng, {
      vessel: { imoNumber: rng.pick(['IMO9811000', '0000000', '98110000', '']), name: '', voyage: '1W' },
    }),
  voyage: (rng) =>
    equipmentWith(rng, {
      vessel: { imoNumber: '9811000', name: 'X', voyage: rng.pick(['', 'a', '#1', 'A'.repeat(21)]) },
    }),
  vesselName: (rng) =>
    equipmentWith(rng, { vessel: { imoNumber: '9811000', name: 'N'.repeat(101), voyage: '1W' } }),
  missingVessel: (rng) => equipmentWith(rng, { vessel: undefined }),
  unLocode: (rng) => ({
    ...goodEvent(rng),
    facility: { unLocode: rng.pick(['XXHPH', 'VNHP', 'vnhph', 'VN HP', 'ZZZZZ', '']), terminalCode: 'HICT' },
  }),
  terminalCode: (rng) => ({
    ...goodEvent(rng),
    facility: { unLocode: 'VNHPH', terminalCode: rng.pick(['', 'hict', 'H', 'HICTHICT', '../X']) },
  }),
  otherTerminal: (rng) => ({ ...goodEvent(rng), facility: { unLocode: 'VNHPH', terminalCode: 'TVCT' } }),
  missingFacility: (rng) => ({ ...goodEvent(rng), facility: undefined }),
  missingPayload: (rng) => ({ ...goodEvent(rng), payload: undefined }),
  eventId: (rng) => ({
    ...goodEvent(rng),
    eventId: rng.pick([
      '',
      'x'.repeat(65),
      'a b',
      "'; DROP TABLE events; --",
      '{id:String}',
      'Ω-1',
      '../../x',
    ]),
  }),
  unknownClassifier: (rng) => ({ ...goodEvent(rng), classifier: rng.pick([0, 4, 99, -1, 2 ** 31 - 1]) }),
  unknownEquipmentType: (rng) => equipmentWith(rng, { type: rng.pick<number>([0, 12, 999, -5]) }),
  unknownEmptyIndicator: (rng) => equipmentWith(rng, { emptyIndicator: rng.pick<number>([3, 77, -1]) }),
  unknownSealSource: (rng) => equipmentWith(rng, { seals: [{ number: 'S1', source: 42 as number }] }),
  unknownTransportEnums: (rng) => {
    const e = arrivalEvent(freshId(rng));
    if (e.payload?.$case === 'transport') {
      if (rng.chance(0.5)) e.payload.value.type = rng.pick<number>([0, 3, 1000]);
      else e.payload.value.location = rng.pick([0, 3, 1000]) as TransportCallLocation;
    }
    return e;
  },
  tooManySeals: (rng) =>
    equipmentWith(rng, { seals: Array.from({ length: 11 }, (_, i) => ({ number: `S${i}`, source: 1 })) }),
  badSeal: (rng) =>
    equipmentWith(rng, { seals: [{ number: rng.pick(['', 'S 1', 'x'.repeat(36)]), source: 1 }] }),
  yardPosition: (rng) =>
    equipmentWith(rng, {
      yardPosition: rng.pick([
        { block: '', bay: 1, row: 1, tier: 1 },
        { block: 'A1', bay: 1000, row: 1, tier: 1 },
        { block: 'A1', bay: 1, row: 1, tier: 100 },
        { block: 'a;1', bay: 1, row: 1, tier: 1 },
      ]),
    }),
  truckPlate: (rng) => equipmentWith(rng, { truckPlate: 'T'.repeat(17) }),
  manifest: (rng) => arrivalEvent(freshId(rng), [containerNumber('MSC', 1), 'MSCU0000000', 'nope']),
  berthMissing: (rng) => {
    const e = arrivalEvent(freshId(rng));
    if (e.payload?.$case === 'transport') e.payload.value.berth = rng.pick(['', 'B'.repeat(65)]);
    return e;
  },
  farPast: (rng) => ({
    ...goodEvent(rng),
    eventTime: new Date(rng.pick([-62_135_596_800_000, 0, Date.now() - 2 * YEAR_MS])),
  }),
  farFuture: (rng) => ({
    ...goodEvent(rng),
    eventTime: new Date(rng.pick([253_402_300_799_000, 8.64e15, Date.now() + YEAR_MS])),
  }),
  actualInFuture: (rng) => ({ ...goodEvent(rng), eventTime: new Date(Date.now() + HOUR_MS) }),
  plannedTooFar: (rng) => ({
    ...goodEvent(rng),
    classifier: EventClassifier.PLANNED,
    eventTime: new Date(Date.now() + 2 * YEAR_MS),
  }),
  missingTime: (rng) => ({ ...goodEvent(rng), eventTime: undefined }),
};

/** Events carrying the invalid-UTF-8 marker in a validated field. */
const UTF8_EVENTS: Record<string, (rng: Rng) => Event> = {
  eventIdUtf8: (rng) => ({ ...goodEvent(rng), eventId: `fz-${MARK}` }),
  containerUtf8: (rng) => equipmentWith(rng, { containerNumber: `MSC${MARK}` }),
  terminalUtf8: (rng) => ({
    ...goodEvent(rng),
    facility: { unLocode: 'VNHPH', terminalCode: MARK.slice(0, 4) },
  }),
};

/** An event whose timestamp seconds/nanos are out of the protobuf range (encoded by hand). */
function eventWithRawTime(rng: Rng, seconds: bigint, nanos: number): Buffer {
  const e = goodEvent(rng);
  e.eventTime = undefined;
  const ts = Buffer.concat([tag(1, 0), varint(seconds), tag(2, 0), varint(nanos)]);
  return lenField(1, Buffer.concat([encodeEvent(e), lenField(2, ts)]));
}

function encodeEvent(e: Event): Buffer {
  // The request is field 1 (events) = the event: strip the request framing.
  const req = buf(PublishEventsRequest.encode({ events: [e] }).finish());
  let pos = 1;
  while (((req[pos] as number) & 0x80) !== 0) pos++;
  return req.subarray(pos + 1);
}

function publishBody(events: Event[]): Buffer {
  return buf(PublishEventsRequest.encode({ events }).finish());
}

function streamBody(batchId: string, events: Event[]): Buffer {
  return buf(StreamEventsRequest.encode({ batchId, events }).finish());
}

/** Ingest cases: the same events for PublishEvents (one body) and StreamEvents (batches in turn). */
function ingestCases(rng: Rng, maxBatch: number, streaming: boolean): Case[] {
  const cases: Case[] = [];
  const wrap = (cls: string, batches: Event[][], expectations: EventExpectation[][], utf8 = false): void => {
    const bodies = batches.map((b, i) => {
      const raw = streaming ? streamBody(`b${i}`, b) : publishBody(b);
      return utf8 ? withInvalidUtf8(raw, MARK) : raw;
    });
    // On a stream the batches go in turn over one call; to PublishEvents, one call each, in turn.
    cases.push({ cls, messages: bodies, expect: S.OK, events: expectations });
  };
  for (const [name, make] of Object.entries(BAD_EVENTS)) {
    wrap(`invalid:${name}`, [[make(rng), make(rng)]], [['rejected', 'rejected']]);
  }
  for (const [name, make] of Object.entries(UTF8_EVENTS)) {
    wrap(`invalidUtf8:${name}`, [[make(rng)]], [['rejected']], true);
  }
  // Free text with invalid UTF-8 decodes to U+FFFD: it may be accepted, as text, never as raw bytes.
  wrap(
    'invalidUtf8:vesselName',
    [[equipmentWith(rng, { vessel: { imoNumber: '9811000', name: MARK, voyage: '1W' } })]],
    [['any']],
    true,
  );
  for (let i = 0; i < 6; i++) {
    const mixed: Event[] = [];
    const exp: EventExpectation[] = [];
    const names = Object.keys(BAD_EVENTS);
    for (let j = 0; j < 3 + rng.int(12); j++) {
      if (rng.chance(0.5)) {
        mixed.push(goodEvent(rng));
        exp.push('accepted');
      } else {
        mixed.push((BAD_EVENTS[rng.pick(names)] as (r: Rng) => Event)(rng));
        exp.push('rejected');
      }
    }
    wrap('mixedGoodAndBad', [mixed], [exp]);
  }
  // Duplicate ids: twice in one batch, and again in a later batch (or call).
  const a = goodEvent(rng);
  const b = goodEvent(rng);
  const again = { ...goodEvent(rng), eventId: a.eventId };
  wrap(
    'duplicateIds',
    [
      [a, { ...a }, b],
      [again, b],
    ],
    [
      ['accepted', 'duplicate', 'accepted'],
      ['duplicate', 'duplicate'],
    ],
  );
  // A batch over the limit is refused whole: INVALID_ARGUMENT for the unary call, every event REJECTED on a stream.
  const huge = Array.from({ length: maxBatch + 1 + rng.int(20) }, () => goodEvent(rng));
  if (streaming) {
    cases.push({
      cls: 'batchOverLimit',
      messages: [streamBody('huge', huge)],
      expect: S.OK,
      events: [huge.map(() => 'rejected')],
    });
  } else {
    cases.push({ cls: 'batchOverLimit', messages: [publishBody(huge)], expect: S.INVALID_ARGUMENT });
  }
  for (const [seconds, nanos] of [
    [(1n << 62n) + 7n, 0],
    [-(1n << 40n), 0],
    [1n, 2_000_000_000],
    [253_402_300_800n * 1000n, 0],
  ] as const) {
    const body = eventWithRawTime(rng, seconds, nanos);
    cases.push({ cls: 'timestampOutOfRange', messages: [streaming ? rewrapAsStreamEvents(body) : body] });
  }
  return cases;
}

/** PublishEventsRequest.events is field 1, StreamEventsRequest.events is field 2. */
function rewrapAsStreamEvents(publishBody: Buffer): Buffer {
  const b = Buffer.from(publishBody);
  b[0] = 0x12;
  return b;
}

// ---- customs ----

let declSerial = 0;
const declarationNumber = (rng: Rng): string =>
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

function customsDeclarationCases(rng: Rng, encode: (d: Declaration) => Buffer): Case[] {
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

function numberCases(rng: Rng, encode: (n: string) => Buffer, unknown: status | 'any' = S.NOT_FOUND): Case[] {
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

// ---- tracking ----

/** A valid container number nobody has sent an event for. */
const UNKNOWN_CONTAINER = containerNumber('ZZZ', 424_242);

const BAD_CONTAINERS = [
  '',
  'MSCU1234567',
  'mscu1234566',
  '../../etc/passwd',
  "MSCU1234566' OR '1'='1",
  '{c:String}',
  'Ω'.repeat(20),
  'A'.repeat(10_000),
  `MSC${MARK}`,
];

const range = (
  from: Date | undefined,
  to: Date | undefined,
): { startTime: Date | undefined; endTime: Date | undefined } => ({
  startTime: from,
  endTime: to,
});

function timeRanges(rng: Rng): { startTime: Date | undefined; endTime: Date | undefined }[] {
  const now = Date.now();
  return [
    range(undefined, undefined),
    range(new Date(now), new Date(now - HOUR_MS)),
    range(new Date(-62_135_596_800_000), new Date(253_402_300_799_000)),
    range(new Date(0), new Date(now)),
    range(new Date(now - 10 * YEAR_MS), new Date(now + rng.int(YEAR_MS))),
    range(new Date(8.64e15), new Date(8.64e15)),
    // Narrow ranges beyond what ClickHouse DateTime holds (1970-2106).
    range(new Date('9999-12-31T00:00:00Z'), new Date('9999-12-31T01:00:00Z')),
    range(new Date('2106-02-07T06:00:00Z'), new Date('2106-02-07T07:00:00Z')),
    range(new Date('1800-01-01T00:00:00Z'), new Date('1800-01-01T01:00:00Z')),
    range(new Date(-8.64e15), new Date(-8.64e15 + HOUR_MS)),
  ];
}

export const CASES: Record<string, MethodCases> = {
  '/portstream.v1.IngestService/PublishEvents': {
    allowed: INPUT,
    valid: (rng) => publishBody([goodEvent(rng), goodEvent(rng)]),
    hostile: (rng, l) => ingestCases(rng, l.maxBatchEvents, false),
  },
  '/portstream.v1.IngestService/StreamEvents': {
    allowed: INPUT,
    valid: (rng) => streamBody('v', [goodEvent(rng), goodEvent(rng)]),
    hostile: (rng, l) => ingestCases(rng, l.maxBatchEvents, true),
  },
  '/portstream.v1.CustomsService/SubmitDeclaration': {
    allowed: [...INPUT, S.ALREADY_EXISTS],
    valid: (rng) => buf(SubmitDeclarationRequest.encode({ declaration: validDeclaration(rng) }).finish()),
    hostile: (rng) =>
      customsDeclarationCases(rng, (d) => buf(SubmitDeclarationRequest.encode({ declaration: d }).finish())),
  },
  '/portstream.v1.CustomsService/AmendDeclaration': {
    allowed: [...INPUT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.ALREADY_EXISTS],
    valid: (rng) =>
      buf(
        AmendDeclarationRequest.encode({
          declaration: validDeclaration(rng, submitted[0] ?? declarationNumber(rng)),
          reason: 'fix',
        }).finish(),
      ),
    hostile: (rng) =>
      customsDeclarationCases(rng, (d) =>
        buf(AmendDeclarationRequest.encode({ declaration: d, reason: MARK }).finish()),
      ),
  },
  '/portstream.v1.CustomsService/CancelDeclaration': {
    allowed: [...INPUT, S.NOT_FOUND, S.FAILED_PRECONDITION],
    valid: (rng) =>
      buf(
        CancelDeclarationRequest.encode({ declarationNumber: declarationNumber(rng), reason: 'x' }).finish(),
      ),
    hostile: (rng) =>
      numberCases(rng, (n) =>
        buf(CancelDeclarationRequest.encode({ declarationNumber: n, reason: MARK }).finish()),
      ),
  },
  '/portstream.v1.CustomsService/GetDeclaration': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: (rng) => buf(GetDeclarationRequest.encode({ declarationNumber: declarationNumber(rng) }).finish()),
    hostile: (rng) =>
      numberCases(rng, (n) => buf(GetDeclarationRequest.encode({ declarationNumber: n }).finish())),
  },
  '/portstream.v1.CustomsService/RecordInspectionResult': {
    allowed: [...INPUT, S.NOT_FOUND, S.FAILED_PRECONDITION],
    valid: (rng) =>
      buf(
        RecordInspectionResultRequest.encode({
          declarationNumber: declarationNumber(rng),
          outcome: InspectionOutcome.PASSED,
          inspector: 'i',
          remarks: '',
        }).finish(),
      ),
    hostile: (rng) => [
      ...numberCases(rng, (n) =>
        buf(
          RecordInspectionResultRequest.encode({
            declarationNumber: n,
            outcome: InspectionOutcome.FAILED,
            inspector: MARK,
            remarks: MARK,
          }).finish(),
        ),
      ),
      ...[0, 3, 99, -1].map((outcome) => ({
        cls: 'unknownEnum:outcome',
        messages: [
          buf(
            RecordInspectionResultRequest.encode({
              declarationNumber: declarationNumber(rng),
              outcome,
              inspector: '',
              remarks: '',
            }).finish(),
          ),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
    ],
  },
  '/portstream.v1.CustomsService/WatchDecisions': {
    allowed: [...INPUT, ...STREAM_END],
    valid: () =>
      buf(WatchDecisionsRequest.encode({ afterPosition: 0, fromStart: true, channels: [] }).finish()),
    hostile: (rng) => [
      ...[2 ** 53 - 1, 2 ** 32, 1].map((afterPosition) => ({
        cls: 'farPosition',
        messages: [
          buf(WatchDecisionsRequest.encode({ afterPosition, fromStart: false, channels: [] }).finish()),
        ],
      })),
      {
        cls: 'int64Overflow:afterPosition',
        messages: [Buffer.concat([tag(1, 0), varint((1n << 63n) + 5n)])],
        expect: S.INVALID_ARGUMENT,
      },
      {
        cls: 'unknownEnum:channels',
        messages: [
          buf(
            WatchDecisionsRequest.encode({
              afterPosition: 0,
              fromStart: true,
              channels: [999, -1, 0] as number[],
            }).finish(),
          ),
        ],
      },
      {
        cls: 'hugeRepeated:channels',
        messages: [
          buf(
            WatchDecisionsRequest.encode({
              afterPosition: 0,
              fromStart: rng.chance(0.5),
              channels: Array.from({ length: 100_000 }, () => rng.int(5)),
            }).finish(),
          ),
        ],
      },
    ],
  },
  '/portstream.v1.TrackingService/GetContainerStatus': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () => buf(GetContainerStatusRequest.encode({ containerNumber: MINE }).finish()),
    hostile: () => [
      ...BAD_CONTAINERS.map((c) => ({
        cls: 'invalid:containerNumber',
        messages: [
          withInvalidUtf8(buf(GetContainerStatusRequest.encode({ containerNumber: c }).finish()), MARK),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
      {
        cls: 'unknownContainer',
        messages: [buf(GetContainerStatusRequest.encode({ containerNumber: UNKNOWN_CONTAINER }).finish())],
        expect: S.NOT_FOUND,
      },
    ],
  },
  '/portstream.v1.TrackingService/ListContainerEvents': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(ListContainerEventsRequest.encode({ containerNumber: MINE, pageSize: 10, pageToken: '' }).finish()),
    hostile: (rng) => [
      ...BAD_CONTAINERS.map((c) => ({
        cls: 'invalid:containerNumber',
        messages: [
          withInvalidUtf8(
            buf(
              ListContainerEventsRequest.encode({ containerNumber: c, pageSize: 10, pageToken: '' }).finish(),
            ),
            MARK,
          ),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
      ...[
        'garbage',
        MARK,
        Buffer.from(JSON.stringify({ t: "'; DROP TABLE events; --", id: 'x' })).toString('base64url'),
        Buffer.from(JSON.stringify({ t: '{t:String}', id: "' OR 1=1" })).toString('base64url'),
        Buffer.from(JSON.stringify({ t: '9999-99-99 99:99:99.999', id: 'x' })).toString('base64url'),
        Buffer.from(JSON.stringify({ t: 5, id: [] })).toString('base64url'),
        'A'.repeat(100_000),
      ].map((pageToken) => ({
        cls: 'invalid:pageToken',
        messages: [
          withInvalidUtf8(
            buf(
              ListContainerEventsRequest.encode({
                containerNumber: MINE,
                pageSize: rng.pick([0, 1, 1000, 2 ** 32 - 1]),
                pageToken,
              }).finish(),
            ),
            MARK,
          ),
        ],
        expect: S.INVALID_ARGUMENT,
      })),
      ...[0, 1001, 2 ** 32 - 1].map((pageSize) => ({
        cls: 'pageSize',
        messages: [
          buf(ListContainerEventsRequest.encode({ containerNumber: MINE, pageSize, pageToken: '' }).finish()),
        ],
      })),
    ],
  },
  '/portstream.v1.TrackingService/WatchContainer': {
    allowed: [...INPUT, S.NOT_FOUND, ...STREAM_END],
    valid: () => buf(WatchContainerRequest.encode({ containerNumber: MINE }).finish()),
    hostile: () => [
      ...BAD_CONTAINERS.map((c) => ({
        cls: 'invalid:containerNumber',
        messages: [withInvalidUtf8(buf(WatchContainerRequest.encode({ containerNumber: c }).finish()), MARK)],
        expect: S.INVALID_ARGUMENT,
      })),
      {
        cls: 'unknownContainer',
        messages: [buf(WatchContainerRequest.encode({ containerNumber: UNKNOWN_CONTAINER }).finish())],
        expect: S.NOT_FOUND,
      },
    ],
  },
  '/portstream.v1.TrackingService/GetVesselVisit': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () => buf(GetVesselVisitRequest.encode({ visitId: 'VNHPH-9811000-1234W' }).finish()),
    hostile: () =>
      [
        '',
        '../../x',
        'VNHPH-9811000-1234W\u0000',
        "x' OR 1=1",
        '{v:String}',
        'V'.repeat(100_000),
        MARK,
        'a.b.*',
        '>',
      ].map((visitId) => ({
        cls: 'invalid:visitId',
        messages: [withInvalidUtf8(buf(GetVesselVisitRequest.encode({ visitId }).finish()), MARK)],
      })),
  },
  '/portstream.v1.TrackingService/ListVesselVisits': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        ListVesselVisitsRequest.encode({
          statuses: [],
          unLocode: 'VNHPH',
          pageSize: 10,
          pageToken: '',
        }).finish(),
      ),
    hostile: (rng) => [
      {
        cls: 'unknownEnum:statuses',
        messages: [
          buf(
            ListVesselVisitsRequest.encode({
              statuses: [999, -1, 0] as number[],
              unLocode: '',
              pageSize: 0,
              pageToken: '',
            }).finish(),
          ),
        ],
      },
      {
        cls: 'hugeRepeated:statuses',
        messages: [
          buf(
            ListVesselVisitsRequest.encode({
              statuses: Array.from({ length: 100_000 }, () => 1 + rng.int(4)),
              unLocode: '',
              pageSize: 0,
              pageToken: '',
            }).finish(),
          ),
        ],
      },
      ...['XXHPH', 'vnhph', "VN' OR '1", '{u:String}', MARK, '*', '>'].map((unLocode) => ({
        cls: 'invalid:unLocode',
        messages: [
          withInvalidUtf8(
            buf(
              ListVesselVisitsRequest.encode({
                statuses: [],
                unLocode,
                pageSize: 10,
                pageToken: '',
              }).finish(),
            ),
            MARK,
          ),
        ],
      })),
      ...['garbage', MARK, '-1', '99999999999999999999', '../x'].map((pageToken) => ({
        cls: 'invalid:pageToken',
        messages: [
          withInvalidUtf8(
            buf(
              ListVesselVisitsRequest.encode({
                statuses: [],
                unLocode: '',
                pageSize: 10,
                pageToken,
              }).finish(),
            ),
            MARK,
          ),
        ],
      })),
    ],
  },
  '/portstream.v1.TrackingService/ListDecisions': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () => buf(ListDecisionsRequest.encode({ declarationNumber: '300000000001' }).finish()),
    hostile: (rng) =>
      // An unknown declaration has no decisions: an empty list to those who may see everything.
      numberCases(rng, (n) => buf(ListDecisionsRequest.encode({ declarationNumber: n }).finish()), 'any'),
  },
  '/portstream.v1.TrackingService/GetThroughput': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        GetThroughputRequest.encode({
          range: range(new Date(Date.now() - HOUR_MS), new Date()),
          bucketSeconds: 60,
          terminalCode: '',
        }).finish(),
      ),
    hostile: (rng) =>
      timeRanges(rng).flatMap((r) =>
        [0, 1, 7, 60, 86_400, 2 ** 32 - 1].map((bucketSeconds) => ({
          cls: 'timeRangeAndBucket',
          messages: [
            withInvalidUtf8(
              buf(
                GetThroughputRequest.encode({
                  range: r,
                  bucketSeconds,
                  terminalCode: rng.pick(['', 'HICT', "H' OR 1=1", '{t:String}', MARK]),
                }).finish(),
              ),
              MARK,
            ),
          ],
        })),
      ),
  },
  '/portstream.v1.TrackingService/GetClearanceMetrics': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        GetClearanceMetricsRequest.encode({
          range: range(new Date(Date.now() - 86_400_000), new Date()),
          bucketSeconds: 3600,
        }).finish(),
      ),
    hostile: (rng) =>
      timeRanges(rng).flatMap((r) =>
        [0, 60, 3600, 86_400, 2 ** 32 - 1].map((bucketSeconds) => ({
          cls: 'timeRangeAndBucket',
          messages: [buf(GetClearanceMetricsRequest.encode({ range: r, bucketSeconds }).finish())],
        })),
      ),
  },
};
