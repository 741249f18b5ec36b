// The ManifestService gRPC handlers: carriers file, amend and withdraw the manifests of their own carrier codes;
// customs and admin read every manifest; a firm reads the bills it is a party to; a terminal operator reads which
// containers a call at its terminal brings or takes (not the parties or the cargo). Whatever a caller may not
// read is NOT_FOUND, as if it did not exist.
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { actsForTaxCode, facilityKey, Role, type Principal } from '../../core/auth/principal.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import { ErrorCode, invalidArgument, PortstreamError, unavailable } from '../../core/errors.js';
import { principalOf, requireRole } from '../../core/grpc/auth.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { unaryHandler } from '../../core/grpc/unary.js';
import type { Logger } from '../../core/logger.js';
import type { RateLimiter } from '../../core/rate-limit.js';
import { assertManifest, BILL_NUMBER, CARRIER_CODE } from '../../core/validation/manifest.js';
import {
  ManifestServiceService,
  type BillOfLading,
  type FileManifestRequest,
  type FileManifestResponse,
  type GetBillOfLadingRequest,
  type GetBillOfLadingResponse,
  type GetManifestRequest,
  type GetManifestResponse,
  type ManifestServiceServer,
  type WithdrawManifestRequest,
  type WithdrawManifestResponse,
} from '../../proto/gen/portstream/v1/manifest.js';
import type { ManifestHeader } from '../../proto/gen/portstream/v1/records.js';
import type { ManifestStore } from './store.js';

export interface ManifestServiceDeps {
  store: ManifestStore;
  auth: TokenAuthenticator;
  log: Logger;
  /** Calls per second per caller. */
  limiter: RateLimiter;
}

const FILERS = [Role.Carrier, Role.Admin] as const;
const READERS = [Role.Carrier, Role.Customs, Role.Admin, Role.Firm, Role.Operator] as const;
const CALL_ID = /^[A-Z]{2}[A-Z2-9]{3}-[A-Z0-9]{2,6}-[0-9]{7}-[A-Z0-9][A-Z0-9/-]{0,19}$/;

function notFound(what: string): PortstreamError {
  return new PortstreamError(ErrorCode.NotFound, `${what} not found`);
}

/** Whether the principal may speak for the carrier code (file, amend, withdraw, read all of it). */
function actsForCarrier(p: Principal, carrier: string): boolean {
  return p.role === Role.Admin || (p.role === Role.Carrier && p.carriers.has(carrier));
}

/** Whether a firm is a party to the bill (shipper, consignee or notify party, itself or one it acts for). */
export function isBillParty(p: Principal, b: BillOfLading): boolean {
  return [b.shipper, b.consignee, b.notifyParty].some((party) => actsForTaxCode(p, party?.taxCode ?? ''));
}

function operatesTerminal(p: Principal, header: ManifestHeader): boolean {
  const f = header.facility;
  if (p.role !== Role.Operator || !f) return false;
  return p.terminals.has(facilityKey(f.unLocode, f.terminalCode)) || p.terminals.has(`${f.unLocode}:*`);
}

/** Store failures other than refusals are NATS failures: the client may retry (filings are idempotent). */
async function storing<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof PortstreamError) throw err;
    throw unavailable('manifest store unavailable; retry', err);
  }
}

function checkCallId(v: string, field = 'call_id'): void {
  if (!CALL_ID.test(v)) throw invalidArgument(field, 'must be "<UN/LOCODE>-<terminal>-<IMO>-<voyage>"');
}

function checkCarrier(v: string, field = 'carrier_code'): void {
  if (!CARRIER_CODE.test(v)) throw invalidArgument(field, 'must be 2-4 of A-Z 0-9');
}

export function createManifestService(deps: ManifestServiceDeps): ServiceRegistration {
  const { auth, log, store } = deps;
  const caller = (metadata: Metadata, roles: readonly Role[], what: string): Principal => {
    const p = principalOf(auth, metadata);
    requireRole(p, roles, what);
    deps.limiter.take(p.name);
    return p;
  };
  const mayFile = (p: Principal, carrier: string, field: string): void => {
    if (!actsForCarrier(p, carrier)) {
      throw new PortstreamError(
        ErrorCode.PermissionDenied,
        `${field}: ${p.name} may not file for carrier ${carrier}`,
      );
    }
  };

  const implementation: ManifestServiceServer = {
    fileManifest: unaryHandler(
      log,
      async (call: ServerUnaryCall<FileManifestRequest, FileManifestResponse>) => {
        const p = caller(call.metadata, FILERS, 'file cargo manifests');
        const m = call.request.manifest;
        assertManifest(m);
        mayFile(p, m.carrierCode, 'manifest.carrier_code');
        const r = await storing(store.file(m, call.request.expectedVersion, p.name, p.role === Role.Admin));
        log.info(
          { call: r.callId, carrier: m.carrierCode, version: r.version, by: p.name },
          'manifest filed',
        );
        return { callId: r.callId, version: r.version };
      },
    ),

    withdrawManifest: unaryHandler(
      log,
      async (call: ServerUnaryCall<WithdrawManifestRequest, WithdrawManifestResponse>) => {
        const p = caller(call.metadata, FILERS, 'withdraw cargo manifests');
        const req = call.request;
        checkCallId(req.callId);
        checkCarrier(req.carrierCode);
        mayFile(p, req.carrierCode, 'carrier_code');
        const version = await storing(
          store.withdraw(req.callId, req.carrierCode, req.expectedVersion, p.name, p.role === Role.Admin),
        );
        log.info({ call: req.callId, carrier: req.carrierCode, version, by: p.name }, 'manifest withdrawn');
        return { callId: req.callId, version };
      },
    ),

    getManifest: unaryHandler(log, async (call: ServerUnaryCall<GetManifestRequest, GetManifestResponse>) => {
      const p = caller(call.metadata, READERS, 'read cargo manifests');
      const req = call.request;
      checkCallId(req.callId);
      checkCarrier(req.carrierCode);
      const what = `manifest of ${req.callId} by ${req.carrierCode}`;
      const found = await storing(store.header(req.callId, req.carrierCode));
      if (!found) throw notFound(what);
      const h = found.header;
      const full = p.role === Role.Customs || actsForCarrier(p, req.carrierCode);
      const partial = p.role === Role.Firm || (p.role === Role.Operator && operatesTerminal(p, h));
      if (!full && !partial) throw notFound(what);
      const filed = await storing(store.bills(h.billNumbers));
      let bills = h.billNumbers.flatMap((n) => {
        const b = filed.get(n)?.record.bill;
        return b ? [b] : [];
      });
      if (!full && p.role === Role.Firm) {
        bills = bills.filter((b) => isBillParty(p, b));
        if (bills.length === 0) throw notFound(what);
      } else if (!full) {
        // The terminal handles the boxes; who owns the cargo and what it is stays between the parties.
        bills = bills.map((b) => ({
          ...b,
          shipper: undefined,
          consignee: undefined,
          notifyParty: undefined,
          cargo: [],
        }));
      }
      return {
        record: {
          callId: h.callId,
          manifest: {
            carrierCode: h.carrierCode,
            facility: h.facility,
            vessel: h.vessel,
            bills,
            emptyContainers: p.role === Role.Firm ? [] : h.emptyContainers,
          },
          version: h.version,
          status: h.status,
          filedBy: full ? h.filedBy : '',
          filedTime: h.filedTime,
        },
      };
    }),

    getBillOfLading: unaryHandler(
      log,
      async (call: ServerUnaryCall<GetBillOfLadingRequest, GetBillOfLadingResponse>) => {
        const p = caller(call.metadata, READERS, 'read bills of lading');
        const n = call.request.billNumber;
        if (!BILL_NUMBER.test(n)) throw invalidArgument('bill_number', 'must be 4-35 of A-Z 0-9');
        const found = await storing(store.bill(n));
        const b = found?.record.bill;
        const carrier = found?.record.carrierCode ?? '';
        const may =
          b !== undefined &&
          (p.role === Role.Customs ||
            actsForCarrier(p, carrier) ||
            (p.role === Role.Firm && isBillParty(p, b)));
        if (!found || !may) throw notFound(`bill of lading ${n}`);
        return {
          bill: b,
          callId: found.record.callId,
          carrierCode: carrier,
          manifestVersion: found.header.version,
        };
      },
    ),
  };
  return { name: 'portstream.v1.ManifestService', definition: ManifestServiceService, implementation };
}
