// The reads behind the audience dashboards that are not about one container: the customs hold queue and
// customs activity (customs and admin only), yard dwell (every caller, like the other port metrics) and the
// services' consumer lag (admin, customs, operators). Transport-neutral, like reads.ts.
import { Role, type Principal } from '../../core/auth/principal.js';
import type {
  CustomsActivityRow,
  HeldRow,
  HoldChannel,
  HoldQueueOptions,
  TimeRange,
  YardDwellRow,
} from '../../core/clickhouse/index.js';
import { ErrorCode, invalidArgument, PortstreamError } from '../../core/errors.js';
import { Channel, channelFromJSON, clearanceStatusFromJSON } from '../../proto/gen/portstream/v1/customs.js';
import type {
  CustomsActivityPoint,
  GetConsumerLagResponse,
  HeldDeclaration,
  ListHeldDeclarationsRequest,
  ListHeldDeclarationsResponse,
  YardDwellPoint,
} from '../../proto/gen/portstream/v1/tracking.js';
import { fromChTime, num, toChTime } from './convert.js';
import type { LagSource } from './lag.js';
import type { TrackingStore } from './store.js';

/** The ClickHouse side of the dashboards (bound to a client by the composition root). */
export interface DashboardAnalytics {
  holdQueue(o: HoldQueueOptions): Promise<{ items: HeldRow[]; nextCursor: string | undefined }>;
  holdQueueTotals(since: string): Promise<Partial<Record<string, number>>>;
  customsActivity(r: TimeRange): Promise<CustomsActivityRow[]>;
  yardDwell(r: TimeRange): Promise<YardDwellRow[]>;
}

export function assertCustoms(p: Principal, what: string): void {
  if (p.role !== Role.Admin && p.role !== Role.Customs) {
    throw new PortstreamError(ErrorCode.PermissionDenied, `${p.role} may not read ${what}`);
  }
}

export function assertMaySeeLag(p: Principal): void {
  if (p.role !== Role.Admin && p.role !== Role.Customs && p.role !== Role.Operator) {
    throw new PortstreamError(ErrorCode.PermissionDenied, `${p.role} may not read consumer lag`);
  }
}

const DEFAULT_LOOKBACK_DAYS = 90;
/** The decisions table keeps five years. */
const MAX_LOOKBACK_DAYS = 1825;
/** Declarations of one page looked up in the KV state at a time. */
const LOOKUP_WINDOW = 64;

function holdChannels(channels: readonly Channel[]): HoldChannel[] {
  if (channels.length === 0) return ['YELLOW', 'RED'];
  return channels.map((c) => {
    if (c === Channel.YELLOW) return 'YELLOW';
    if (c === Channel.RED) return 'RED';
    throw invalidArgument('channels', 'only YELLOW and RED hold goods');
  });
}

/** The hold queue, oldest hold first, each entry with what the declaration says of itself. */
export async function heldDeclarations(
  a: DashboardAnalytics,
  store: TrackingStore,
  req: ListHeldDeclarationsRequest,
  limit: number,
  cursor: string | undefined,
  now: Date = new Date(),
): Promise<ListHeldDeclarationsResponse> {
  const days = req.lookbackDays === 0 ? DEFAULT_LOOKBACK_DAYS : req.lookbackDays;
  if (days > MAX_LOOKBACK_DAYS) throw invalidArgument('lookback_days', `at most ${MAX_LOOKBACK_DAYS}`);
  const since = toChTime(new Date(now.getTime() - days * 86_400_000));
  const channels = holdChannels(req.channels);
  const [page, totals] = await Promise.all([
    a.holdQueue({ since, channels, limit, ...(cursor === undefined ? {} : { cursor }) }),
    a.holdQueueTotals(since),
  ]);
  const declarations: HeldDeclaration[] = [];
  for (let i = 0; i < page.items.length; i += LOOKUP_WINDOW) {
    const rows = page.items.slice(i, i + LOOKUP_WINDOW);
    const decls = await Promise.all(rows.map((r) => store.declaration(r.declaration_number)));
    rows.forEach((r, j) => {
      const d = decls[j];
      const heldSince = fromChTime(r.held_since);
      declarations.push({
        declarationNumber: r.declaration_number,
        revision: num(r.revision),
        channel: channelFromJSON(`CHANNEL_${r.channel}`),
        status: clearanceStatusFromJSON(`CLEARANCE_STATUS_${r.status}`),
        heldSince,
        ageSeconds: Math.max(0, Math.floor((now.getTime() - heldSince.getTime()) / 1000)),
        ruleCodes: r.rules,
        traderTaxCode: d?.traderTaxCode ?? '',
        traderName: d?.traderName ?? '',
        customsOffice: d?.customsOffice ?? '',
        containerNumbers: d?.containerNumbers ?? [],
      });
    });
  }
  return {
    declarations,
    nextPageToken: page.nextCursor ?? '',
    yellowTotal: channels.includes('YELLOW') ? (totals.DOCUMENT_CHECK ?? 0) : 0,
    redTotal: channels.includes('RED') ? (totals.PHYSICAL_INSPECTION ?? 0) : 0,
    asOf: now,
  };
}

export function customsActivityPoint(r: CustomsActivityRow): CustomsActivityPoint {
  return {
    bucketStart: fromChTime(r.bucket),
    green: num(r.green),
    yellow: num(r.yellow),
    red: num(r.red),
    documentChecksPassed: num(r.document_checks_passed),
    documentChecksFailed: num(r.document_checks_failed),
    inspectionsPassed: num(r.inspections_passed),
    inspectionsFailed: num(r.inspections_failed),
    cancelled: num(r.cancelled),
  };
}

export function yardDwellPoint(r: YardDwellRow): YardDwellPoint {
  return {
    bucketStart: fromChTime(r.bucket),
    terminalCode: r.terminal_code,
    stays: num(r.stays),
    dwellP50Seconds: num(r.dwell[0]),
    dwellP90Seconds: num(r.dwell[1]),
    dwellMaxSeconds: num(r.dwell_max),
  };
}

export async function consumerLag(lag: LagSource, now: Date = new Date()): Promise<GetConsumerLagResponse> {
  return { consumers: await lag.consumerLag(), observedTime: now };
}
