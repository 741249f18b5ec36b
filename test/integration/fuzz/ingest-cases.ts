// Hostile IngestService input: events breaking each validation rule, invalid UTF-8 in validated fields, mixed
// good and bad batches, duplicate ids, a batch over the limit, timestamps outside the protobuf range.
import {
  EventClassifier,
  type TransportCallLocation,
  type EquipmentEvent,
  type Event,
} from '../../../proto/gen/portstream/v1/events.js';
import { PublishEventsRequest, StreamEventsRequest } from '../../../proto/gen/portstream/v1/ingest.js';
import { arrivalEvent, containerNumber, equipmentEvent } from '../../../test-kit/events.js';
import { lenField, tag, varint, withInvalidUtf8, type Rng } from '../../helpers/fuzz.js';
import { buf, HOUR_MS, MARK, S, YEAR_MS, type Case, type EventExpectation } from './case-kit.js';

let serial = 500_000;
const ids = { n: 0 };
const freshId = (rng: Rng): string => `fz-${rng.int(1e9).toString(36)}-${ids.n++}`;
export const goodEvent = (rng: Rng): Event =>
  rng.chance(0.8) ? equipmentEvent(freshId(rng), serial++) : arrivalEvent(freshId(rng));

function equipmentWith(rng: Rng, over: Partial<EquipmentEvent>): Event {
  const e = equipmentEvent(freshId(rng), serial++);
  if (e.payload?.$case === 'equipment') e.payload.value = { ...e.payload.value, ...over };
  return e;
}

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

export function publishBody(events: Event[]): Buffer {
  return buf(PublishEventsRequest.encode({ events }).finish());
}

export function streamBody(batchId: string, events: Event[]): Buffer {
  return buf(StreamEventsRequest.encode({ batchId, events }).finish());
}

/** Ingest cases: the same events for PublishEvents (one body) and StreamEvents (batches in turn). */
export function ingestCases(rng: Rng, maxBatch: number, streaming: boolean): Case[] {
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
