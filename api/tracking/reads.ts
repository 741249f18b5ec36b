// The tracking reads, transport-neutral: the gRPC service and the HTTP routes both call these with the
// authenticated principal and a proto request, and get a proto response or a PortstreamError. Point reads come
// from the KV state; history and metrics from the ClickHouse read helpers (ports, so tests and the bench can
// run them against the real engine while the processor's format evolves).
import { mayPublishFor, Role, type Principal } from '../../core/auth/principal.js';
import type {
  ClearanceRow,
  HistoryEvent,
  HistoryOptions,
  Page,
  ThroughputRow,
  TimeRange,
} from '../../core/clickhouse/index.js';
import { decisionsFor } from '../../core/customs/decision-view.js';
import { invalidArgument } from '../../core/errors.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { checkContainerNumber, checkDeclarationNumber } from '../../core/identifiers/index.js';
import type {
  GetConsumerLagRequest,
  GetConsumerLagResponse,
  GetCustomsActivityRequest,
  GetCustomsActivityResponse,
  GetYardDwellRequest,
  GetYardDwellResponse,
  ListHeldDeclarationsRequest,
  ListHeldDeclarationsResponse,
  GetClearanceMetricsRequest,
  GetClearanceMetricsResponse,
  GetContainerStatusRequest,
  GetContainerStatusResponse,
  GetThroughputRequest,
  GetThroughputResponse,
  GetVesselVisitRequest,
  GetVesselVisitResponse,
  ListContainerEventsRequest,
  ListContainerEventsResponse,
  ListContainersRequest,
  ListContainersResponse,
  ListDeclarationsRequest,
  ListDeclarationsResponse,
  ListDecisionsRequest,
  ListDecisionsResponse,
  ListVesselVisitsRequest,
  ListVesselVisitsResponse,
  TimeRange as ProtoTimeRange,
  VesselVisit,
} from '../../proto/gen/portstream/v1/tracking.js';
import { ThroughputTime } from '../../proto/gen/portstream/v1/tracking.js';
import { assertMaySeeDeclaration, inView, notFound, visibleContainer } from './access.js';
import {
  clearancePoint,
  decodeToken,
  encodeToken,
  historyToEvent,
  throughputPoint,
  toChTime,
} from './convert.js';
import {
  assertCustoms,
  assertMaySeeLag,
  consumerLag,
  customsActivityPoint,
  heldDeclarations,
  yardDwellPoint,
  type DashboardAnalytics,
} from './dashboard.js';
import type { LagSource } from './lag.js';
import { listContainers, listDeclarations } from './lists.js';
import type { TrackingStore } from './store.js';

/** The ClickHouse side, as the core/clickhouse helpers shape it (bound to a client by the composition root). */
export interface AnalyticsPort extends DashboardAnalytics {
  containerHistory(containerNumber: string, opts: HistoryOptions): Promise<Page<HistoryEvent>>;
  throughput(r: TimeRange, by: 'event' | 'received'): Promise<ThroughputRow[]>;
  clearanceMetrics(r: TimeRange): Promise<ClearanceRow[]>;
}

/** The range of ClickHouse DateTime (unsigned 32-bit seconds). */
const CH_TIME_MIN_MS = 0;
const CH_TIME_MAX_MS = (2 ** 32 - 1) * 1000;

const BUCKETS = new Set([60, 300, 3600, 86_400]);
/** Longest range one metrics call may cover, in buckets: keeps a response small whatever the client asks. */
const MAX_BUCKETS = 10_000;

function pageSize(n: number, field = 'page_size'): number {
  if (n === 0) return 100;
  if (n > 1000) throw invalidArgument(field, 'at most 1000');
  return n;
}

function required(v: string, field: string): string {
  if (v === '') throw invalidArgument(field, 'required');
  return v;
}

/**
 * A container number that may be looked up. Checked before any KV access: a key NATS cannot take (a long one
 * breaks the connection's control line, wildcards match other keys) must never reach the store.
 */
export function containerNumberOf(v: string): string {
  const reason = checkContainerNumber(required(v, 'container_number'));
  if (reason !== undefined) throw invalidArgument('container_number', reason);
  return v;
}

/**
 * A vessel's manifest lists every party's containers. In a container's history it is shown whole to customs,
 * admin and the operators of the terminal that reported it; anyone else (a firm, another terminal) sees only
 * the container it asked about.
 */
function visibleManifest(p: Principal, containerNumber: string, e: Event): Event {
  if (e.payload?.$case !== 'transport' || p.role === Role.Admin || p.role === Role.Customs) return e;
  const f = e.facility;
  if (f && mayPublishFor(p, f.unLocode, f.terminalCode)) return e;
  const t = e.payload.value;
  return {
    ...e,
    payload: {
      $case: 'transport',
      value: {
        ...t,
        manifestContainerNumbers: t.manifestContainerNumbers.filter((c) => c === containerNumber),
      },
    },
  };
}

function declarationNumberOf(v: string): string {
  const reason = checkDeclarationNumber(required(v, 'declaration_number'));
  if (reason !== undefined) throw invalidArgument('declaration_number', reason);
  return v;
}

/** What a metrics read assumes for the parameters a caller leaves out. */
export interface MetricsDefaults {
  /** The finest bucket the rollup has, in seconds; also the bucket when none is given. */
  minBucket: number;
  /** Window when no start is given: it ends at end_time (default now). At least one bucket. */
  windowSeconds: number;
}

/** Throughput: minute buckets over the last hour. */
export const THROUGHPUT_DEFAULTS: MetricsDefaults = { minBucket: 60, windowSeconds: 3600 };
/** Clearance: hourly buckets (the rollup's own) over the last day. */
export const CLEARANCE_DEFAULTS: MetricsDefaults = { minBucket: 3600, windowSeconds: 86_400 };
/** Customs activity and yard dwell: hourly buckets over the last day, as clearance. */
export const HOURLY_DEFAULTS = CLEARANCE_DEFAULTS;

function throughputBasis(t: ThroughputTime): 'event' | 'received' {
  switch (t) {
    case ThroughputTime.UNSPECIFIED:
    case ThroughputTime.EVENT_TIME:
      return 'event';
    case ThroughputTime.RECEIVE_TIME:
      return 'received';
    case ThroughputTime.UNRECOGNIZED:
      break;
  }
  throw invalidArgument('time', 'must be EVENT_TIME or RECEIVE_TIME');
}

export function timeRange(
  range: ProtoTimeRange | undefined,
  bucketSecondsAsked: number,
  defaults: MetricsDefaults,
  nowMs: number = Date.now(),
): TimeRange {
  const { minBucket } = defaults;
  const bucketSeconds = bucketSecondsAsked === 0 ? minBucket : bucketSecondsAsked;
  if (!BUCKETS.has(bucketSeconds) || bucketSeconds < minBucket) {
    const allowed = [...BUCKETS].filter((b) => b >= minBucket).join(', ');
    throw invalidArgument('bucket_seconds', `one of ${allowed}`);
  }
  const end = range?.endTime ?? new Date(nowMs);
  const start =
    range?.startTime ?? new Date(end.getTime() - Math.max(defaults.windowSeconds, bucketSeconds) * 1000);
  for (const [t, field] of [
    [start, 'range.start_time'],
    [end, 'range.end_time'],
  ] as const) {
    // ClickHouse DateTime holds these years only; beyond them its parameter parsing fails.
    if (!(t.getTime() >= CH_TIME_MIN_MS && t.getTime() <= CH_TIME_MAX_MS)) {
      throw invalidArgument(field, 'must be between 1970-01-01 and 2106-02-07');
    }
  }
  if (end <= start) throw invalidArgument('range.end_time', 'must be after start_time');
  if ((end.getTime() - start.getTime()) / 1000 / bucketSeconds > MAX_BUCKETS) {
    throw invalidArgument('range', `covers more than ${MAX_BUCKETS} buckets`);
  }
  return { from: toChTime(start), to: toChTime(end), bucketSeconds };
}

export class TrackingReads {
  constructor(
    private readonly store: TrackingStore,
    private readonly analytics: AnalyticsPort,
    private readonly lag: LagSource,
  ) {}

  async containerStatus(p: Principal, req: GetContainerStatusRequest): Promise<GetContainerStatusResponse> {
    const n = containerNumberOf(req.containerNumber);
    return { status: (await visibleContainer(p, n, this.store)).status };
  }

  async containerEvents(p: Principal, req: ListContainerEventsRequest): Promise<ListContainerEventsResponse> {
    const n = containerNumberOf(req.containerNumber);
    const limit = pageSize(req.pageSize);
    const cursor = req.pageToken === '' ? undefined : decodeToken(req.pageToken, n);
    const view = await visibleContainer(p, n, this.store);
    // Operators see what happened at their own terminals, not the container's stays elsewhere (filtered in the
    // query, so pages stay full); firms, the windows of their shipments.
    const page = await this.analytics.containerHistory(n, {
      limit,
      ...(cursor === undefined ? {} : { cursor }),
      ...(p.role === Role.Operator ? { facilities: [...p.terminals] } : {}),
    });
    // What lies outside the caller's view (another party's shipment, another terminal) is left out; the cursor
    // still moves past it, so a page may hold fewer events than asked for.
    const events = page.items
      .map((r) => visibleManifest(p, n, historyToEvent(r)))
      .filter((e) =>
        inView(view, e.eventTime ?? new Date(0), e.facility?.unLocode ?? '', e.facility?.terminalCode ?? ''),
      );
    return {
      events,
      nextPageToken: page.nextCursor === undefined ? '' : encodeToken(n, page.nextCursor),
    };
  }

  /** The caller's containers, each as containerStatus shows it (lists.ts). */
  containers(p: Principal, req: ListContainersRequest): Promise<ListContainersResponse> {
    return listContainers(this.store, p, req);
  }

  /** The caller's declarations with their current decision as it may read it (lists.ts). */
  declarations(p: Principal, req: ListDeclarationsRequest): Promise<ListDeclarationsResponse> {
    return listDeclarations(this.store, p, req);
  }

  /** Vessel schedules are what the port publishes anyway: every role may read them. */
  async vesselVisit(_p: Principal, req: GetVesselVisitRequest): Promise<GetVesselVisitResponse> {
    const id = required(req.visitId, 'visit_id');
    const visit = await this.store.vesselVisit(id);
    if (!visit) throw notFound(`vessel visit ${id}`);
    return { visit };
  }

  async vesselVisits(_p: Principal, req: ListVesselVisitsRequest): Promise<ListVesselVisitsResponse> {
    const limit = pageSize(req.pageSize);
    const after = req.pageToken === '' ? '' : decodeToken(req.pageToken, 'visits');
    const statuses = new Set(req.statuses);
    const visits: VesselVisit[] = [];
    let more = false;
    // Keys are sorted, so the last id served is the cursor; visits deleted meanwhile are simply skipped.
    for (const id of await this.store.vesselVisitIds()) {
      if (id <= after) continue;
      if (req.unLocode !== '' && !id.startsWith(`${req.unLocode}-`)) continue;
      const v = await this.store.vesselVisit(id);
      if (!v || (statuses.size > 0 && !statuses.has(v.status))) continue;
      if (visits.length === limit) {
        more = true;
        break;
      }
      visits.push(v);
    }
    const last = visits.at(-1);
    return { visits, nextPageToken: more && last ? encodeToken('visits', last.visitId) : '' };
  }

  async decisions(p: Principal, req: ListDecisionsRequest): Promise<ListDecisionsResponse> {
    const no = declarationNumberOf(req.declarationNumber);
    await assertMaySeeDeclaration(p, no, this.store);
    return { decisions: decisionsFor(p, await this.store.decisions(no)) };
  }

  async throughput(_p: Principal, req: GetThroughputRequest): Promise<GetThroughputResponse> {
    const by = throughputBasis(req.time);
    const rows = await this.analytics.throughput(
      timeRange(req.range, req.bucketSeconds, THROUGHPUT_DEFAULTS),
      by,
    );
    const wanted = req.terminalCode;
    return {
      points: rows.filter((r) => wanted === '' || r.terminal_code === wanted).map(throughputPoint),
    };
  }

  async clearance(_p: Principal, req: GetClearanceMetricsRequest): Promise<GetClearanceMetricsResponse> {
    // The rollup is hourly: finer buckets would be a lie, so they are refused.
    const rows = await this.analytics.clearanceMetrics(
      timeRange(req.range, req.bucketSeconds, CLEARANCE_DEFAULTS),
    );
    return { points: rows.map(clearancePoint) };
  }

  /** Customs and admin only: the declarations held for a check or an inspection, oldest hold first. */
  async heldDeclarations(
    p: Principal,
    req: ListHeldDeclarationsRequest,
  ): Promise<ListHeldDeclarationsResponse> {
    assertCustoms(p, 'the hold queue');
    const limit = pageSize(req.pageSize);
    const cursor = req.pageToken === '' ? undefined : decodeToken(req.pageToken, 'held');
    const res = await heldDeclarations(this.analytics, this.store, req, limit, cursor);
    return { ...res, nextPageToken: res.nextPageToken === '' ? '' : encodeToken('held', res.nextPageToken) };
  }

  /** Customs and admin only: decisions per bucket by channel, and outcomes of checks and inspections. */
  async customsActivity(p: Principal, req: GetCustomsActivityRequest): Promise<GetCustomsActivityResponse> {
    assertCustoms(p, 'customs activity');
    const rows = await this.analytics.customsActivity(
      timeRange(req.range, req.bucketSeconds, HOURLY_DEFAULTS),
    );
    return { points: rows.map(customsActivityPoint) };
  }

  async yardDwell(_p: Principal, req: GetYardDwellRequest): Promise<GetYardDwellResponse> {
    const rows = await this.analytics.yardDwell(timeRange(req.range, req.bucketSeconds, HOURLY_DEFAULTS));
    const wanted = req.terminalCode;
    return { points: rows.filter((r) => wanted === '' || r.terminal_code === wanted).map(yardDwellPoint) };
  }

  async consumerLag(p: Principal, _req: GetConsumerLagRequest): Promise<GetConsumerLagResponse> {
    assertMaySeeLag(p);
    return consumerLag(this.lag);
  }
}
