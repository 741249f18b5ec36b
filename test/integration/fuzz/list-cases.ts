// Hostile requests for the list RPCs (ListContainers, ListDeclarations): unknown enum values, huge repeated
// filters, call ids that are NATS wildcards or SQL, forged and oversized page tokens, page sizes past the cap.
import {
  ListContainersRequest,
  ListDeclarationsRequest,
  ReleasedFilter,
} from '../../../proto/gen/portstream/v1/tracking.js';
import type { Rng } from '../../helpers/fuzz.js';
import { withInvalidUtf8 } from '../../helpers/fuzz.js';
import { buf, INPUT, MARK, S, type Case, type MethodCases } from './case-kit.js';

const CALL = 'VNHPH-HICT-9811000-2346W';
const BAD_CALLS = ['*', '>', 'VNHPH-HICT-*', 'a.b.c', "x' OR 1=1", '{c:String}', 'C'.repeat(10_000), MARK];
const BAD_TOKENS = [
  'garbage',
  MARK,
  Buffer.from(JSON.stringify({ s: 'containers:x', p: '>' })).toString('base64url'),
  Buffer.from(JSON.stringify({ s: 5, p: [] })).toString('base64url'),
  'A'.repeat(100_000),
];

const containers = (over: Partial<ListContainersRequest> = {}): Buffer =>
  withInvalidUtf8(
    buf(
      ListContainersRequest.encode({
        locations: [],
        customsStatuses: [],
        callId: '',
        released: ReleasedFilter.UNSPECIFIED,
        pageSize: 10,
        pageToken: '',
        ...over,
      }).finish(),
    ),
    MARK,
  );

const declarations = (over: Partial<ListDeclarationsRequest> = {}): Buffer =>
  withInvalidUtf8(
    buf(
      ListDeclarationsRequest.encode({
        statuses: [],
        callId: '',
        released: ReleasedFilter.UNSPECIFIED,
        pageSize: 10,
        pageToken: '',
        ...over,
      }).finish(),
    ),
    MARK,
  );

const invalid = (cls: string, m: Buffer): Case => ({ cls, messages: [m], expect: S.INVALID_ARGUMENT });

export const LIST_CASES: Record<string, MethodCases> = {
  '/portstream.v1.TrackingService/ListContainers': {
    allowed: [...INPUT],
    valid: (rng: Rng) =>
      containers({ callId: rng.pick(['', CALL]), released: rng.pick([0, 1, 2]) as ReleasedFilter }),
    hostile: (rng: Rng) => [
      invalid('unknownEnum:locations', containers({ locations: [999, -1, 0] as number[] })),
      invalid('unknownEnum:customsStatuses', containers({ customsStatuses: [7, 0] as number[] })),
      invalid('unknownEnum:released', containers({ released: rng.pick([3, -1, 99]) as ReleasedFilter })),
      {
        cls: 'hugeRepeated:locations',
        messages: [containers({ locations: Array.from({ length: 100_000 }, () => 1 + rng.int(4)) })],
      },
      ...BAD_CALLS.map((callId) => invalid('invalid:callId', containers({ callId }))),
      ...BAD_TOKENS.map((pageToken) => invalid('invalid:pageToken', containers({ pageToken }))),
      invalid('pageSize', containers({ pageSize: rng.pick([501, 2 ** 32 - 1]) })),
    ],
  },
  '/portstream.v1.TrackingService/ListDeclarations': {
    allowed: [...INPUT],
    valid: (rng: Rng) => declarations({ callId: rng.pick(['', CALL]) }),
    hostile: (rng: Rng) => [
      invalid('unknownEnum:statuses', declarations({ statuses: [999, 0] as number[] })),
      invalid('unknownEnum:released', declarations({ released: 5 as ReleasedFilter })),
      {
        cls: 'hugeRepeated:statuses',
        messages: [declarations({ statuses: Array.from({ length: 100_000 }, () => 1 + rng.int(6)) })],
      },
      ...BAD_CALLS.map((callId) => invalid('invalid:callId', declarations({ callId }))),
      ...BAD_TOKENS.map((pageToken) => invalid('invalid:pageToken', declarations({ pageToken }))),
      invalid('pageSize', declarations({ pageSize: 501 })),
    ],
  },
};
