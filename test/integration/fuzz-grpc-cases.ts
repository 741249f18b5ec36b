// What the gRPC fuzz test sends to each RPC beyond random and mutated bytes: a valid request to mutate, and
// hand-made hostile requests (invalid identifiers, unknown enum values, far timestamps, invalid UTF-8, huge
// repeated fields, duplicate ids, mixed batches), each with the status it must get. Keyed by method path: the
// test fails for a method that has no entry here, so a new RPC cannot go unfuzzed.
import {
  AmendDeclarationRequest,
  CancelDeclarationRequest,
  GetDeclarationRequest,
  RecordInspectionResultRequest,
  SubmitDeclarationRequest,
  WatchDecisionsRequest,
  InspectionOutcome,
} from '../../proto/gen/portstream/v1/customs.js';
import {
  GetClearanceMetricsRequest,
  GetConsumerLagRequest,
  GetContainerStatusRequest,
  GetCustomsActivityRequest,
  GetYardDwellRequest,
  ListHeldDeclarationsRequest,
  GetThroughputRequest,
  GetVesselVisitRequest,
  ListContainerEventsRequest,
  ListDecisionsRequest,
  ListVesselVisitsRequest,
  ThroughputTime,
  WatchContainerRequest,
} from '../../proto/gen/portstream/v1/tracking.js';
import { containerNumber } from '../../test-kit/events.js';
import { tag, varint, withInvalidUtf8, type Rng } from '../helpers/fuzz.js';
import { MINE } from './api-fixture.js';
import { buf, HOUR_MS, INPUT, MARK, S, STREAM_END, YEAR_MS, type MethodCases } from './fuzz/case-kit.js';
import {
  customsDeclarationCases,
  declarationNumber,
  numberCases,
  submitted,
  validDeclaration,
} from './fuzz/customs-cases.js';
import { ENTERPRISE_CASES } from './fuzz/enterprise-cases.js';
import { goodEvent, ingestCases, publishBody, streamBody } from './fuzz/ingest-cases.js';
import { LIST_CASES } from './fuzz/list-cases.js';
import { MANIFEST_CASES } from './fuzz/manifest-cases.js';
import { WEBHOOK_CASES } from './fuzz/webhook-cases.js';

export { submitted } from './fuzz/customs-cases.js';
export type { Case, EventExpectation } from './fuzz/case-kit.js';

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
  ...MANIFEST_CASES,
  ...ENTERPRISE_CASES,
  ...LIST_CASES,
  ...WEBHOOK_CASES,
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
    valid: () => buf(GetVesselVisitRequest.encode({ visitId: 'VNHPH-HICT-9811000-1234W' }).finish()),
    hostile: () =>
      [
        '',
        '../../x',
        'VNHPH-HICT-9811000-1234W\u0000',
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
          time: ThroughputTime.UNSPECIFIED,
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
                  time: rng.pick([0, 1, 2, 3, -1]) as ThroughputTime,
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
  '/portstream.v1.TrackingService/GetCustomsActivity': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        GetCustomsActivityRequest.encode({
          range: range(new Date(Date.now() - 86_400_000), new Date()),
          bucketSeconds: 3600,
        }).finish(),
      ),
    hostile: (rng) =>
      timeRanges(rng).flatMap((r) =>
        [0, 60, 3600, 86_400, 2 ** 32 - 1].map((bucketSeconds) => ({
          cls: 'timeRangeAndBucket',
          messages: [buf(GetCustomsActivityRequest.encode({ range: r, bucketSeconds }).finish())],
        })),
      ),
  },
  '/portstream.v1.TrackingService/GetYardDwell': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        GetYardDwellRequest.encode({
          range: range(new Date(Date.now() - 86_400_000), new Date()),
          bucketSeconds: 3600,
          terminalCode: '',
        }).finish(),
      ),
    hostile: (rng) =>
      timeRanges(rng).flatMap((r) =>
        [0, 60, 3600, 86_400, 2 ** 32 - 1].map((bucketSeconds) => ({
          cls: 'timeRangeAndBucket',
          messages: [
            withInvalidUtf8(
              buf(
                GetYardDwellRequest.encode({
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
  '/portstream.v1.TrackingService/ListHeldDeclarations': {
    allowed: [...INPUT, S.NOT_FOUND],
    valid: () =>
      buf(
        ListHeldDeclarationsRequest.encode({
          channels: [],
          lookbackDays: 0,
          pageSize: 0,
          pageToken: '',
        }).finish(),
      ),
    hostile: (rng) =>
      [0, 1, 90, 1825, 1826, 2 ** 32 - 1].flatMap((lookbackDays) =>
        [0, 1, 1000, 1001, 2 ** 32 - 1].map((pageSize) => ({
          cls: 'queueParameters',
          messages: [
            withInvalidUtf8(
              buf(
                ListHeldDeclarationsRequest.encode({
                  channels: rng.pick<number[]>([[], [2], [3], [1], [0], [2, 3, 7], [-1]]),
                  lookbackDays,
                  pageSize,
                  pageToken: rng.pick([
                    '',
                    'nonsense',
                    Buffer.from('{"s":"held","p":"x"}').toString('base64url'),
                    Buffer.from(
                      JSON.stringify({
                        s: 'held',
                        p: Buffer.from('{"t":"1\' OR 1=1","d":""}').toString('base64url'),
                      }),
                    ).toString('base64url'),
                    MARK,
                  ]),
                }).finish(),
              ),
              MARK,
            ),
          ],
        })),
      ),
  },
  '/portstream.v1.TrackingService/GetConsumerLag': {
    allowed: [...INPUT],
    valid: () => buf(GetConsumerLagRequest.encode({}).finish()),
    hostile: (rng) => [
      {
        cls: 'unknownFields',
        messages: [buf(Buffer.concat([tag(9, 2), varint(3), Buffer.from(rng.pick(['abc', MARK]))]))],
      },
    ],
  },
};
