// The list reads: a caller's containers and declarations, by number, cursor-paginated and filtered. Candidates
// come from the list index (core/state/list-index.ts: the caller's own keys, never a scan of every container;
// for customs and admin, who may list all, the source bucket's keys),
// and each is shown only as a point read would show it: a container through containerView (the status
// GetContainerStatus answers), a declaration if the caller is a party to it, its decision through decisionFor.
// So a stale or extra index key can neither show another party's row nor show a row differently.
//
// The page token binds the position (the last number served) to the caller and the filters: a token from
// another caller or other filters, or one we did not issue, is INVALID_ARGUMENT. The position only ever moves
// through the caller's own candidates, so even a token built by hand reaches nothing else.
import { createHash } from 'node:crypto';
import { Role, maySeeDeclaration, type Principal } from '../../core/auth/principal.js';
import { decisionFor } from '../../core/customs/decision-view.js';
import { ErrorCode, invalidArgument, PortstreamError } from '../../core/errors.js';
import { callIdOf } from '../../core/state/shipment.js';
import { indexPrefix, isIndexToken, type Listed } from '../../core/state/list-index.js';
import type { DeclarationState } from '../../core/state/declaration.js';
import { Channel, ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import {
  ContainerLocation,
  CustomsStatus,
  ReleasedFilter,
  type ContainerStatus,
  type DeclarationSummary,
  type ListContainersRequest,
  type ListContainersResponse,
  type ListDeclarationsRequest,
  type ListDeclarationsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { containerView, declarationParties } from './access.js';
import { decodeToken, encodeToken } from './convert.js';
import type { TrackingStore } from './store.js';

export const LIST_PAGE_DEFAULT = 50;
export const LIST_PAGE_MAX = 500;
/** Records read per call at most: a filter matching few rows ends a call with a short page and a token. */
const MAX_SCAN = 2000;
/** Records read at once. */
const CHUNK = 64;
/** "<UN/LOCODE>-<terminal>-<IMO>-<voyage>": what callIdOf builds. */
const CALL_ID = /^[A-Z]{2}[A-Z2-9]{3}-[A-Z0-9]{1,10}-\d{7}-[-_=.a-zA-Z0-9]{1,100}$/;

function listPageSize(n: number): number {
  if (n === 0) return LIST_PAGE_DEFAULT;
  if (n > LIST_PAGE_MAX) throw invalidArgument('page_size', `at most ${LIST_PAGE_MAX}`);
  return n;
}

function enumSet<T extends number>(values: readonly T[], known: object, field: string): Set<T> {
  const ok = new Set(Object.values(known).filter((v): v is number => typeof v === 'number' && v > 0));
  for (const v of values) if (!ok.has(v)) throw invalidArgument(field, `unknown value ${String(v)}`);
  return new Set(values);
}

function callIdFilter(v: string): string {
  if (v !== '' && !CALL_ID.test(v)) throw invalidArgument('call_id', 'not a vessel call id');
  return v;
}

function releasedFilter(v: ReleasedFilter): ReleasedFilter {
  if (v !== ReleasedFilter.UNSPECIFIED && v !== ReleasedFilter.RELEASED && v !== ReleasedFilter.HELD) {
    throw invalidArgument('released', 'must be RELEASED or HELD');
  }
  return v;
}

const keepReleased = (f: ReleasedFilter, released: boolean): boolean =>
  f === ReleasedFilter.UNSPECIFIED || (f === ReleasedFilter.RELEASED) === released;

/** The index prefixes whose keys are the caller's candidates; 'every' for a caller who may list all. */
function prefixes(p: Principal, what: Listed): string[] | 'every' {
  switch (p.role) {
    case Role.Admin:
    case Role.Customs:
      return 'every';
    case Role.Firm:
      return [...new Set([...p.taxCodes, ...p.actsFor])]
        .filter(isIndexToken)
        .map((t) => indexPrefix.firm(t, what));
    case Role.Operator:
      if (what === 'c') {
        return [...p.terminals].flatMap((f) => {
          const [port = '', terminal = ''] = f.split(':');
          if (!isIndexToken(port)) return [];
          if (terminal === '*') return [indexPrefix.port(port)];
          return isIndexToken(terminal) ? [indexPrefix.terminal(port, terminal)] : [];
        });
      }
      break;
    case Role.Carrier:
      break;
  }
  throw new PortstreamError(
    ErrorCode.PermissionDenied,
    `${p.role} may not list ${what === 'c' ? 'containers' : 'declarations'}`,
  );
}

/** The page token's scope: the list, the caller and the filters. */
function scope(list: string, p: Principal, filters: unknown): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([p.name, filters]))
    .digest('base64url');
  return `${list}:${digest.slice(0, 22)}`;
}

/** The caller's candidates, sorted, after the position. */
async function candidates(
  store: TrackingStore,
  p: Principal,
  what: Listed,
  after: string,
): Promise<string[]> {
  const from = prefixes(p, what);
  const lists =
    from === 'every' ? [await store.every(what)] : await Promise.all(from.map((x) => store.listed(x)));
  return [...new Set(lists.flat())].filter((id) => id > after).sort();
}

/**
 * Reads candidates in order, shows each through `show` (undefined: not shown) until the page is full or
 * MAX_SCAN were read; the token resumes after the last row served (a full page) or the last one read.
 */
async function page<T>(
  ids: readonly string[],
  limit: number,
  show: (id: string) => Promise<T | undefined>,
  token: (position: string) => string,
): Promise<{ rows: T[]; next: string }> {
  const rows: T[] = [];
  let position = '';
  for (let i = 0; i < ids.length && i < MAX_SCAN; i += CHUNK) {
    const chunk = ids.slice(i, Math.min(i + CHUNK, MAX_SCAN));
    const shown = await Promise.all(chunk.map(show));
    for (let j = 0; j < chunk.length; j++) {
      const row = shown[j];
      position = chunk[j] as string;
      if (row === undefined) continue;
      rows.push(row);
      if (rows.length === limit) {
        return { rows, next: i + j + 1 < ids.length ? token(position) : '' };
      }
    }
  }
  const read = Math.min(ids.length, MAX_SCAN);
  return { rows, next: read < ids.length ? token(position) : '' };
}

export async function listContainers(
  store: TrackingStore,
  p: Principal,
  req: ListContainersRequest,
): Promise<ListContainersResponse> {
  const locations = enumSet(req.locations, ContainerLocation, 'locations');
  const customs = enumSet(req.customsStatuses, CustomsStatus, 'customs_statuses');
  const callId = callIdFilter(req.callId);
  const released = releasedFilter(req.released);
  const limit = listPageSize(req.pageSize);
  const s = scope('containers', p, [[...locations], [...customs], callId, released]);
  const after = req.pageToken === '' ? '' : decodeToken(req.pageToken, s);
  const matches = (st: ContainerStatus): boolean =>
    (locations.size === 0 || locations.has(st.location)) &&
    (customs.size === 0 || customs.has(st.customsStatus)) &&
    (callId === '' || st.callId === callId || callIdOf(st.facility, st.vessel) === callId) &&
    keepReleased(released, st.released);
  const ids = await candidates(store, p, 'c', after);
  const { rows, next } = await page(
    ids,
    limit,
    async (n) => {
      const rec = await store.container(n);
      const view = rec && (await containerView(p, rec, store));
      return view && matches(view.status) ? view.status : undefined;
    },
    (position) => encodeToken(s, position),
  );
  return { containers: rows, nextPageToken: next };
}

/** Vessel and port of a call id, for matching a declaration (which names no terminal). */
function callParts(callId: string): { port: string; imo: string; voyage: string } {
  const [port = '', , imo = '', ...voyage] = callId.split('-');
  return { port, imo, voyage: voyage.join('-') };
}

function summary(p: Principal, st: DeclarationState): DeclarationSummary {
  const d = st.declaration;
  const current = st.decisions.at(-1);
  return {
    declarationNumber: d.declarationNumber,
    type: d.type,
    declarantTaxCode: d.declarantTaxCode,
    traderTaxCode: d.traderTaxCode,
    traderName: d.traderName,
    billNumbers: d.billNumbers,
    containerNumbers: d.containerNumbers,
    vessel: d.vessel,
    declaredTime: d.declaredTime,
    revision: st.revision,
    status: current?.status ?? ClearanceStatus.PENDING,
    channel: current?.channel ?? Channel.UNSPECIFIED,
    decision: current && decisionFor(p, current),
  };
}

export async function listDeclarations(
  store: TrackingStore,
  p: Principal,
  req: ListDeclarationsRequest,
): Promise<ListDeclarationsResponse> {
  const statuses = enumSet(req.statuses, ClearanceStatus, 'statuses');
  const callId = callIdFilter(req.callId);
  const released = releasedFilter(req.released);
  const limit = listPageSize(req.pageSize);
  const s = scope('declarations', p, [[...statuses], callId, released]);
  const after = req.pageToken === '' ? '' : decodeToken(req.pageToken, s);
  const call = callId === '' ? undefined : callParts(callId);
  const matches = (d: DeclarationState['declaration'], row: DeclarationSummary): boolean =>
    (statuses.size === 0 || statuses.has(row.status)) &&
    (call === undefined ||
      (d.vessel?.imoNumber === call.imo &&
        d.vessel.voyage === call.voyage &&
        (d.portOfDischarge === call.port || d.portOfLoading === call.port))) &&
    keepReleased(released, row.status === ClearanceStatus.CLEARED);
  const ids = await candidates(store, p, 'd', after);
  const { rows, next } = await page(
    ids,
    limit,
    async (no) => {
      const state = await store.declarationState(no);
      if (!state || !maySeeDeclaration(p, declarationParties(state.declaration))) return undefined;
      const row = summary(p, state);
      return matches(state.declaration, row) ? row : undefined;
    },
    (position) => encodeToken(s, position),
  );
  return { declarations: rows, nextPageToken: next };
}
