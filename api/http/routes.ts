// The HTTP/JSON read routes, one table that both registers the fastify handlers and produces the OpenAPI
// document, so the two cannot drift. Responses are the proto responses through the generated toJSON
// (proto3 JSON mapping: camelCase fields, enum names, RFC 3339 times, 64-bit numbers as numbers).
import type { Principal } from '../../core/auth/principal.js';
import { clearanceStatusFromJSON } from '../../proto/gen/portstream/v1/customs.js';
import {
  GetConsumerLagResponse,
  GetCustomsActivityResponse,
  GetYardDwellResponse,
  ListHeldDeclarationsResponse,
  containerLocationFromJSON,
  customsStatusFromJSON,
  GetClearanceMetricsResponse,
  GetContainerStatusResponse,
  GetThroughputResponse,
  GetVesselVisitResponse,
  ListContainerEventsResponse,
  ListContainersResponse,
  ListDeclarationsResponse,
  ListDecisionsResponse,
  ListVesselVisitsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import type { TrackingReads } from '../tracking/reads.js';
import {
  channels,
  enumList,
  range,
  released,
  statuses,
  str,
  throughputTime,
  uint,
  type Query,
} from './params.js';

export interface ParamDoc {
  name: string;
  in: 'path' | 'query';
  description: string;
  type?: 'string' | 'integer';
  required?: boolean;
  array?: boolean;
}

export interface RouteSpec {
  /** OpenAPI path ("/v1/containers/{container_number}"); fastify's is derived from it. */
  path: string;
  operationId: string;
  summary: string;
  /** Name of the proto response message (the OpenAPI schema). */
  response: string;
  params: ParamDoc[];
  handle(reads: TrackingReads, p: Principal, path: Record<string, string>, q: Query): Promise<unknown>;
}

const PAGE: ParamDoc[] = [
  { name: 'page_size', in: 'query', type: 'integer', description: '1-1000, default 100' },
  { name: 'page_token', in: 'query', description: "a previous response's nextPageToken" },
];
/** Omitted parameters default as described (the same defaults as over gRPC). */
function rangeParams(window: string, buckets: string, bucketDefault: number): ParamDoc[] {
  return [
    {
      name: 'start_time',
      in: 'query',
      description: `RFC 3339, inclusive; default: ${window} before end_time`,
    },
    { name: 'end_time', in: 'query', description: 'RFC 3339, exclusive; default: now' },
    {
      name: 'bucket_seconds',
      in: 'query',
      type: 'integer',
      description: `${buckets}; default ${bucketDefault}`,
    },
  ];
}
const LIST_PAGE: ParamDoc[] = [
  { name: 'page_size', in: 'query', type: 'integer', description: '1-500, default 50' },
  {
    name: 'page_token',
    in: 'query',
    description: "a previous response's nextPageToken, with the same filters and the same token",
  },
];
const LIST_FILTERS: ParamDoc[] = [
  {
    name: 'call_id',
    in: 'query',
    description: 'only this vessel call, <UN/LOCODE>-<terminal>-<IMO>-<voyage>',
  },
  { name: 'released', in: 'query', description: 'true: only released (cleared); false: only held' },
];
const CONTAINER: ParamDoc = {
  name: 'container_number',
  in: 'path',
  required: true,
  description: 'ISO 6346 container number',
};

export const ROUTES: readonly RouteSpec[] = [
  {
    path: '/v1/containers/{container_number}',
    operationId: 'GetContainerStatus',
    summary: 'Current status, customs and release standing, dwell time of a container',
    response: 'GetContainerStatusResponse',
    params: [CONTAINER],
    handle: async (r, p, path) =>
      GetContainerStatusResponse.toJSON(
        await r.containerStatus(p, { containerNumber: path.container_number ?? '' }),
      ),
  },
  {
    path: '/v1/containers/{container_number}/events',
    operationId: 'ListContainerEvents',
    summary: "A container's events in time order, cursor-paginated",
    response: 'ListContainerEventsResponse',
    params: [CONTAINER, ...PAGE],
    handle: async (r, p, path, q) =>
      ListContainerEventsResponse.toJSON(
        await r.containerEvents(p, {
          containerNumber: path.container_number ?? '',
          pageSize: uint(q, 'page_size'),
          pageToken: str(q, 'page_token'),
        }),
      ),
  },
  {
    path: '/v1/containers',
    operationId: 'ListContainers',
    summary:
      'The containers the caller may see (a firm: those carrying its bills), each as GetContainerStatus shows it',
    response: 'ListContainersResponse',
    params: [
      {
        name: 'location',
        in: 'query',
        array: true,
        description: 'e.g. IN_YARD; repeat or comma-separate',
      },
      {
        name: 'customs_status',
        in: 'query',
        array: true,
        description: 'e.g. DOCUMENT_CHECK; repeat or comma-separate',
      },
      ...LIST_FILTERS,
      ...LIST_PAGE,
    ],
    handle: async (r, p, _path, q) =>
      ListContainersResponse.toJSON(
        await r.containers(p, {
          locations: enumList(q, 'location', 'CONTAINER_LOCATION_', containerLocationFromJSON, 'locations'),
          customsStatuses: enumList(
            q,
            'customs_status',
            'CUSTOMS_STATUS_',
            customsStatusFromJSON,
            'customs_statuses',
          ),
          callId: str(q, 'call_id'),
          released: released(q),
          pageSize: uint(q, 'page_size'),
          pageToken: str(q, 'page_token'),
        }),
      ),
  },
  {
    path: '/v1/declarations',
    operationId: 'ListDeclarations',
    summary:
      'The declarations the caller may see (a firm: those it is declarant or trader of), with their current decision',
    response: 'ListDeclarationsResponse',
    params: [
      {
        name: 'status',
        in: 'query',
        array: true,
        description: 'clearance status, e.g. PHYSICAL_INSPECTION; repeat or comma-separate',
      },
      ...LIST_FILTERS,
      ...LIST_PAGE,
    ],
    handle: async (r, p, _path, q) =>
      ListDeclarationsResponse.toJSON(
        await r.declarations(p, {
          statuses: enumList(q, 'status', 'CLEARANCE_STATUS_', clearanceStatusFromJSON, 'statuses'),
          callId: str(q, 'call_id'),
          released: released(q),
          pageSize: uint(q, 'page_size'),
          pageToken: str(q, 'page_token'),
        }),
      ),
  },
  {
    path: '/v1/vessel-visits',
    operationId: 'ListVesselVisits',
    summary: 'Vessel visits, optionally by status and port',
    response: 'ListVesselVisitsResponse',
    params: [
      { name: 'status', in: 'query', array: true, description: 'e.g. BERTHED; repeat or comma-separate' },
      { name: 'un_locode', in: 'query', description: 'only this port' },
      ...PAGE,
    ],
    handle: async (r, p, _path, q) =>
      ListVesselVisitsResponse.toJSON(
        await r.vesselVisits(p, {
          statuses: statuses(q),
          unLocode: str(q, 'un_locode'),
          pageSize: uint(q, 'page_size'),
          pageToken: str(q, 'page_token'),
        }),
      ),
  },
  {
    path: '/v1/vessel-visits/{visit_id}',
    operationId: 'GetVesselVisit',
    summary: 'One vessel visit: schedule and progress of discharge and load',
    response: 'GetVesselVisitResponse',
    params: [
      { name: 'visit_id', in: 'path', required: true, description: '<UN/LOCODE>-<terminal>-<IMO>-<voyage>' },
    ],
    handle: async (r, p, path) =>
      GetVesselVisitResponse.toJSON(await r.vesselVisit(p, { visitId: path.visit_id ?? '' })),
  },
  {
    path: '/v1/declarations/{declaration_number}/decisions',
    operationId: 'ListDecisions',
    summary: 'Clearance decisions on one declaration, oldest first',
    response: 'ListDecisionsResponse',
    params: [{ name: 'declaration_number', in: 'path', required: true, description: 'declaration number' }],
    handle: async (r, p, path) =>
      ListDecisionsResponse.toJSON(
        await r.decisions(p, { declarationNumber: path.declaration_number ?? '' }),
      ),
  },
  {
    path: '/v1/metrics/throughput',
    operationId: 'GetThroughput',
    summary: 'Events per time bucket by kind and terminal',
    response: 'GetThroughputResponse',
    params: [
      ...rangeParams('one hour', '60, 300, 3600 or 86400', 60),
      { name: 'terminal_code', in: 'query', description: 'only this terminal' },
      {
        name: 'time',
        in: 'query',
        description:
          'EVENT_TIME (default: when ACTUAL events happened) or RECEIVE_TIME (when the gateway accepted every event)',
      },
    ],
    handle: async (r, p, _path, q) =>
      GetThroughputResponse.toJSON(
        await r.throughput(p, {
          range: range(q),
          bucketSeconds: uint(q, 'bucket_seconds'),
          terminalCode: str(q, 'terminal_code'),
          time: throughputTime(q),
        }),
      ),
  },
  {
    path: '/v1/metrics/clearance',
    operationId: 'GetClearanceMetrics',
    summary: 'Clearance latency quantiles and channel shares per time bucket (3600 s or 86400 s)',
    response: 'GetClearanceMetricsResponse',
    params: rangeParams('24 hours', '3600 or 86400', 3600),
    handle: async (r, p, _path, q) =>
      GetClearanceMetricsResponse.toJSON(
        await r.clearance(p, { range: range(q), bucketSeconds: uint(q, 'bucket_seconds') }),
      ),
  },
  {
    path: '/v1/customs/held-declarations',
    operationId: 'ListHeldDeclarations',
    summary:
      'Customs and admin only: declarations held for a document check or physical inspection, oldest hold first',
    response: 'ListHeldDeclarationsResponse',
    params: [
      { name: 'channel', in: 'query', array: true, description: 'YELLOW or RED; repeat or comma-separate' },
      {
        name: 'lookback_days',
        in: 'query',
        type: 'integer',
        description: 'only declarations with a decision in this many days: 1-1825, default 90',
      },
      ...PAGE,
    ],
    handle: async (r, p, _path, q) =>
      ListHeldDeclarationsResponse.toJSON(
        await r.heldDeclarations(p, {
          channels: channels(q),
          lookbackDays: uint(q, 'lookback_days'),
          pageSize: uint(q, 'page_size'),
          pageToken: str(q, 'page_token'),
        }),
      ),
  },
  {
    path: '/v1/metrics/customs',
    operationId: 'GetCustomsActivity',
    summary:
      'Customs and admin only: decisions per time bucket by channel, outcomes of document checks and inspections',
    response: 'GetCustomsActivityResponse',
    params: rangeParams('24 hours', '3600 or 86400', 3600),
    handle: async (r, p, _path, q) =>
      GetCustomsActivityResponse.toJSON(
        await r.customsActivity(p, { range: range(q), bucketSeconds: uint(q, 'bucket_seconds') }),
      ),
  },
  {
    path: '/v1/metrics/yard-dwell',
    operationId: 'GetYardDwell',
    summary: 'Yard stays that ended per time bucket and terminal, with dwell time quantiles',
    response: 'GetYardDwellResponse',
    params: [
      ...rangeParams('24 hours', '3600 or 86400', 3600),
      { name: 'terminal_code', in: 'query', description: 'only this terminal' },
    ],
    handle: async (r, p, _path, q) =>
      GetYardDwellResponse.toJSON(
        await r.yardDwell(p, {
          range: range(q),
          bucketSeconds: uint(q, 'bucket_seconds'),
          terminalCode: str(q, 'terminal_code'),
        }),
      ),
  },
  {
    path: '/v1/metrics/consumer-lag',
    operationId: 'GetConsumerLag',
    summary: "Admin, customs and operators: how far the services' durable consumers are behind, now",
    response: 'GetConsumerLagResponse',
    params: [],
    handle: async (r, p) => GetConsumerLagResponse.toJSON(await r.consumerLag(p, {})),
  },
];

/** "/v1/containers/{container_number}" -> "/v1/containers/:container_number". */
export function fastifyPath(openApiPath: string): string {
  return openApiPath.replace(/\{([a-z_]+)\}/g, ':$1');
}
