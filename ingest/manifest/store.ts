// Filing, amending and withdrawing cargo manifests, and reading bills back. A filing writes, in order:
//   1. each bill in ps_bills, claimed by create (a number another manifest holds is refused, so no carrier can
//      take over another's bill), or replaced when this manifest already holds it; and likewise each container
//      for the call (key "c.<call id>.<container>"): on one call a container is on one carrier's manifest;
//   2. the manifest's header in ps_manifests with compare-and-set on the version: the commit point. A bill is on a
//      manifest only while the header lists it, so bills of a filing that never committed count for nothing;
//   3. the container records in ps_containers: each container's part in the call (its shipment), and the removal
//      of the parts an amendment or withdrawal drops; then the bills the new version dropped are released.
// The carrier is answered after all three. Every step is idempotent: a filing re-sent with the same content after
// a failure is answered with its version and finishes what the first attempt left.
import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import PQueue from 'p-queue';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { kvStore, kvWriteGuarded, readModifyWrite } from '../../core/nats/cas.js';
import { CasConflictError } from '../../core/nats/pipelined.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { applyRelease } from '../../core/state/release.js';
import { callIdOf, removeShipment, upsertShipment } from '../../core/state/shipment.js';
import { decodeVisitRecord } from '../../core/state/visit.js';
import {
  CargoFlow,
  CargoManifest,
  ManifestStatus,
  type BillOfLading,
  type Party,
} from '../../proto/gen/portstream/v1/manifest.js';
import { BillRecord, ManifestHeader, type Shipment } from '../../proto/gen/portstream/v1/records.js';
import {
  ContainerLocation,
  CustomsStatus,
  VesselVisitStatus,
} from '../../proto/gen/portstream/v1/tracking.js';
import { encodeWith } from '../../core/proto/writer.js';

export interface ManifestStoreDeps {
  manifests: KV;
  bills: KV;
  containers: KV;
  /** Vessel visits: a manifest is amended or withdrawn only before its vessel arrives. */
  visits: KV;
}

/** A bill on a filed manifest, as declarations and readers see it. */
export interface FiledBill {
  record: BillRecord;
  header: ManifestHeader;
}

const CONTAINER_WRITES_AT_ONCE = 64;

export const manifestKey = (callId: string, carrier: string): string => `${callId}.${carrier}`;
const containerClaimKey = (callId: string, container: string): string => `c.${callId}.${container}`;

const containerCodec = { decode: decodeContainerRecord, encode: encodeContainerRecord };

function failedPrecondition(message: string): PortstreamError {
  return new PortstreamError(ErrorCode.FailedPrecondition, message);
}

function decodeOr<T>(
  e: { operation: string; value: Uint8Array } | null,
  decode: (b: Uint8Array) => T,
): T | undefined {
  return e && e.operation === 'PUT' && e.value.length > 0 ? decode(e.value) : undefined;
}

const partyCodes = (...parties: (Party | undefined)[]): string[] => [
  ...new Set(parties.map((p) => p?.taxCode ?? '').filter((t) => t !== '')),
];

/** Each container's part in the call: its flow and the bills it carries. */
export function shipmentsOf(header: ManifestHeader, bills: readonly BillOfLading[]): Map<string, Shipment> {
  const out = new Map<string, Shipment>();
  const base = (flow: CargoFlow): Shipment => ({
    callId: header.callId,
    facility: header.facility,
    vessel: header.vessel,
    flow,
    bills: [],
    startedTime: undefined,
    endedTime: undefined,
    manifestVersion: header.version,
    carrierCode: header.carrierCode,
  });
  for (const b of bills) {
    for (const c of b.containers) {
      let s = out.get(c.containerNumber);
      if (!s) {
        s = base(b.flow);
        out.set(c.containerNumber, s);
      }
      s.bills.push({
        billNumber: b.billNumber,
        partyTaxCodes: partyCodes(b.shipper, b.consignee, b.notifyParty),
        declarationNumbers: [],
        customsStatus: CustomsStatus.NO_DECLARATION,
      });
    }
  }
  for (const c of header.emptyContainers) out.set(c.containerNumber, base(CargoFlow.EMPTY));
  return out;
}

/**
 * A manifest filed after the container came in still starts its shipment: the container is in the call's
 * terminal, and (for cargo arriving on the call) came off its vessel.
 */
function startIfAlreadyIn(rec: ContainerRecord, s: Shipment): void {
  const st = rec.status;
  const inside =
    (st.location === ContainerLocation.IN_YARD || st.location === ContainerLocation.AT_GATE) &&
    st.facility?.unLocode === s.facility?.unLocode &&
    st.facility?.terminalCode === s.facility?.terminalCode;
  if (!inside || s.startedTime !== undefined) return;
  const entered = rec.bookkeeping.enteredTime ?? st.lastEventTime;
  if (s.flow === CargoFlow.IMPORT) {
    const offThisVessel =
      st.dischargedTime !== undefined &&
      st.vessel?.imoNumber === s.vessel?.imoNumber &&
      st.vessel?.voyage === s.vessel?.voyage;
    if (offThisVessel) s.startedTime = st.dischargedTime;
    return;
  }
  s.startedTime = entered;
}

export class ManifestStore {
  private readonly containers;
  constructor(private readonly deps: ManifestStoreDeps) {
    this.containers = kvStore(deps.containers);
  }

  async header(
    callId: string,
    carrier: string,
  ): Promise<{ header: ManifestHeader; revision: number } | undefined> {
    const e = await this.deps.manifests.get(manifestKey(callId, carrier));
    const header = decodeOr(e, (b) => ManifestHeader.decode(b));
    return header && e ? { header, revision: e.revision } : undefined;
  }

  /** The bill and the manifest holding it, when it is on a filed manifest now. */
  async bill(billNumber: string): Promise<FiledBill | undefined> {
    const record = decodeOr(await this.deps.bills.get(billNumber), (b) => BillRecord.decode(b));
    if (!record) return undefined;
    const current = await this.header(record.callId, record.carrierCode);
    const header = current?.header;
    if (header?.status !== ManifestStatus.FILED || !header.billNumbers.includes(billNumber)) return undefined;
    return { record, header };
  }

  /** Bills by number, for those on a filed manifest now. */
  async bills(billNumbers: readonly string[]): Promise<Map<string, FiledBill>> {
    const out = new Map<string, FiledBill>();
    await Promise.all(
      [...new Set(billNumbers)].map(async (n) => {
        const b = await this.bill(n);
        if (b) out.set(n, b);
      }),
    );
    return out;
  }

  /** Declarations naming the bill on the container's record (its shipments' bills). */
  async billDeclarations(billNumber: string, containerNumber: string): Promise<number> {
    const e = await this.containers.get(containerNumber);
    if (e === null || e.operation !== 'PUT' || e.value.length === 0) return 0;
    const shipments = decodeContainerRecord(e.value).bookkeeping.shipments;
    let count = 0;
    for (const s of shipments) {
      for (const b of s.bills)
        if (b.billNumber === billNumber) count = Math.max(count, b.declarationNumbers.length);
    }
    return count;
  }

  /** Whether the call's vessel has arrived (a manifest is fixed then). */
  private async arrived(callId: string): Promise<boolean> {
    const visit = decodeOr(await this.deps.visits.get(callId), (b) => decodeVisitRecord(b).visit);
    return visit !== undefined && visit.status >= VesselVisitStatus.ARRIVED;
  }

  /**
   * Files or amends a manifest. `expectedVersion` 0 files a new one; otherwise it must be the current version.
   * `mayAmendAfterArrival` is for admin corrections.
   */
  async file(
    manifest: CargoManifest,
    expectedVersion: number,
    filedBy: string,
    mayAmendAfterArrival: boolean,
  ): Promise<{ callId: string; version: number }> {
    const callId = callIdOf(manifest.facility, manifest.vessel);
    if (callId === undefined) {
      throw new PortstreamError(ErrorCode.InvalidArgument, 'manifest: no usable vessel call id', {
        field: 'manifest.vessel',
      });
    }
    const carrier = manifest.carrierCode;
    const digest = createHash('sha256')
      .update(encodeWith((w) => CargoManifest.encode(manifest, w)))
      .digest();
    const current = await this.header(callId, carrier);
    const prev = current?.header;
    // The same filing again (a retry after a lost answer or a failure part-way): finish it, answer its version.
    const isRetry =
      prev !== undefined &&
      prev.status === ManifestStatus.FILED &&
      Buffer.from(prev.contentSha256).equals(digest) &&
      (expectedVersion === prev.version - 1 || expectedVersion === prev.version);
    if (!isRetry) {
      const at = prev?.version ?? 0;
      const live = prev !== undefined && prev.status === ManifestStatus.FILED;
      if (expectedVersion !== (live ? at : 0)) {
        throw failedPrecondition(
          live
            ? `manifest of ${callId} by ${carrier} is at version ${at}; amend with expected_version ${at}`
            : `no manifest of ${callId} by ${carrier} is filed; file with expected_version 0`,
        );
      }
      if (live && !mayAmendAfterArrival && (await this.arrived(callId))) {
        throw failedPrecondition(`vessel of ${callId} has arrived; its manifest can no longer be amended`);
      }
    }
    const version = isRetry ? prev.version : (prev?.version ?? 0) + 1;
    const header = ManifestHeader.fromPartial({
      callId,
      carrierCode: carrier,
      facility: manifest.facility,
      vessel: manifest.vessel,
      version,
      status: ManifestStatus.FILED,
      filedBy,
      filedTime: isRetry ? prev.filedTime : new Date(),
      billNumbers: manifest.bills.map((b) => b.billNumber),
      emptyContainers: manifest.emptyContainers,
      contentSha256: digest,
    });
    const before = await this.containersOf(prev);
    await this.claimBills(manifest.bills, callId, carrier, version);
    await this.claimContainers(manifest, callId, carrier);
    if (!isRetry) await this.writeHeader(header, current?.revision ?? 0);
    await this.writeContainers(header, manifest.bills, before);
    await this.releaseBills(prev, header, carrier);
    return { callId, version };
  }

  async withdraw(
    callId: string,
    carrier: string,
    expectedVersion: number,
    by: string,
    mayAfterArrival: boolean,
  ): Promise<number> {
    const current = await this.header(callId, carrier);
    const prev = current?.header;
    if (!current || !prev)
      throw new PortstreamError(ErrorCode.NotFound, `no manifest of ${callId} by ${carrier}`);
    let header = prev;
    const before = await this.containersOf(prev);
    if (prev.status === ManifestStatus.FILED) {
      if (expectedVersion !== prev.version) {
        throw failedPrecondition(`manifest of ${callId} by ${carrier} is at version ${prev.version}`);
      }
      if (!mayAfterArrival && (await this.arrived(callId))) {
        throw failedPrecondition(`vessel of ${callId} has arrived; its manifest can no longer be withdrawn`);
      }
      header = ManifestHeader.fromPartial({
        ...prev,
        version: prev.version + 1,
        status: ManifestStatus.WITHDRAWN,
        filedBy: by,
        filedTime: new Date(),
        billNumbers: [],
        emptyContainers: [],
        contentSha256: Buffer.alloc(0),
      });
      await this.writeHeader(header, current.revision);
    } else if (expectedVersion !== prev.version - 1) {
      // Withdrawn already: a retry of that withdrawal is answered, anything else is stale.
      throw failedPrecondition(`manifest of ${callId} by ${carrier} is withdrawn (version ${prev.version})`);
    }
    await this.writeContainers(header, [], before);
    await this.releaseBills(prev, header, carrier);
    return header.version;
  }

  private async claimBills(
    bills: readonly BillOfLading[],
    callId: string,
    carrier: string,
    version: number,
  ): Promise<void> {
    const queue = new PQueue({ concurrency: CONTAINER_WRITES_AT_ONCE });
    await Promise.all(
      bills.map((bill, i) =>
        queue.add(async () => {
          const value = BillRecord.encode({
            bill,
            callId,
            carrierCode: carrier,
            manifestVersion: version,
          }).finish();
          const store = kvStore(this.deps.bills);
          for (let attempt = 0; attempt < 5; attempt++) {
            const e = await store.get(bill.billNumber);
            const held = decodeOr(e, (b) => BillRecord.decode(b));
            if (held && (held.callId !== callId || held.carrierCode !== carrier)) {
              // Still on the other manifest? Then it is that manifest's bill.
              if (await this.bill(bill.billNumber)) {
                throw new PortstreamError(
                  ErrorCode.AlreadyExists,
                  `manifest.bills[${i}].bill_number: bill ${bill.billNumber} is on another manifest`,
                  { field: `manifest.bills[${i}].bill_number` },
                );
              }
            }
            try {
              await store.write(bill.billNumber, value, e?.revision ?? 0);
              return;
            } catch (err) {
              if (!(err instanceof CasConflictError)) throw err;
            }
          }
          throw new PortstreamError(
            ErrorCode.Unavailable,
            `bill ${bill.billNumber}: concurrent filings; retry`,
          );
        }),
      ),
    );
  }

  private async writeHeader(header: ManifestHeader, revision: number): Promise<void> {
    try {
      await kvStore(this.deps.manifests).write(
        manifestKey(header.callId, header.carrierCode),
        ManifestHeader.encode(header).finish(),
        revision,
      );
    } catch (err) {
      if (err instanceof CasConflictError) {
        throw failedPrecondition(
          `manifest of ${header.callId} by ${header.carrierCode} changed meanwhile; read it and retry`,
        );
      }
      throw err;
    }
  }

  /** The containers a stored version of a manifest lists (its bill records as they are now, and its empties). */
  private async containersOf(header: ManifestHeader | undefined): Promise<Set<string>> {
    const out = new Set<string>();
    if (!header) return out;
    await Promise.all(
      header.billNumbers.map(async (n) => {
        const held = decodeOr(await this.deps.bills.get(n), (b) => BillRecord.decode(b));
        if (held?.callId !== header.callId || held.carrierCode !== header.carrierCode) return;
        for (const c of held.bill?.containers ?? []) out.add(c.containerNumber);
      }),
    );
    for (const c of header.emptyContainers) out.add(c.containerNumber);
    return out;
  }

  /** Gives each container its part in the call, and takes it from those only the previous version listed. */
  private async writeContainers(
    header: ManifestHeader,
    bills: readonly BillOfLading[],
    before: ReadonlySet<string>,
  ): Promise<void> {
    const parts = shipmentsOf(header, bills);
    const dropped = [...before].filter((c) => !parts.has(c));
    const queue = new PQueue({ concurrency: CONTAINER_WRITES_AT_ONCE });
    const write = (n: string, change: (rec: ContainerRecord) => boolean): Promise<unknown> =>
      queue.add(() =>
        readModifyWrite(this.containers, n, containerCodec, (existing) => {
          const rec = existing ?? newContainerRecord(n);
          if (!change(rec)) return undefined;
          applyRelease(rec);
          return rec;
        }),
      );
    await Promise.all([
      ...[...parts].map(([n, s]) =>
        write(n, (rec) => {
          startIfAlreadyIn(rec, s);
          upsertShipment(rec.bookkeeping, s);
          return true;
        }),
      ),
      ...dropped.map((n) =>
        write(n, (rec) => removeShipment(rec.bookkeeping, header.callId, header.carrierCode)),
      ),
    ]);
    await Promise.all(
      dropped.map((n) => this.unclaim(containerClaimKey(header.callId, n), header.carrierCode)),
    );
  }

  /** Claims each container of the manifest for the call; one held by another carrier's manifest is refused. */
  private async claimContainers(manifest: CargoManifest, callId: string, carrier: string): Promise<void> {
    const at = new Map<string, string>();
    manifest.bills.forEach((b, i) => {
      b.containers.forEach((c, j) => at.set(c.containerNumber, `manifest.bills[${i}].containers[${j}]`));
    });
    manifest.emptyContainers.forEach((c, i) => at.set(c.containerNumber, `manifest.empty_containers[${i}]`));
    const queue = new PQueue({ concurrency: CONTAINER_WRITES_AT_ONCE });
    const store = kvStore(this.deps.bills);
    const value = new TextEncoder().encode(carrier);
    await Promise.all(
      [...at].map(([n, field]) =>
        queue.add(async () => {
          const key = containerClaimKey(callId, n);
          for (let attempt = 0; attempt < 5; attempt++) {
            const e = await store.get(key);
            const holder = e && e.operation === 'PUT' ? new TextDecoder().decode(e.value) : '';
            if (holder === carrier) return;
            if (holder !== '') {
              const other = await this.header(callId, holder);
              if (
                other?.header.status === ManifestStatus.FILED &&
                (await this.containersOf(other.header)).has(n)
              ) {
                throw new PortstreamError(
                  ErrorCode.AlreadyExists,
                  `${field}: container ${n} is on another carrier's manifest of this call`,
                  { field },
                );
              }
            }
            try {
              await store.write(key, value, e?.revision ?? 0);
              return;
            } catch (err) {
              if (!(err instanceof CasConflictError)) throw err;
            }
          }
          throw new PortstreamError(ErrorCode.Unavailable, `container ${n}: concurrent filings; retry`);
        }),
      ),
    );
  }

  /** Deletes a claim if `holder` still holds it. */
  private async unclaim(key: string, holder: string): Promise<void> {
    const e = await this.deps.bills.get(key);
    if (e?.operation === 'PUT' && new TextDecoder().decode(e.value) === holder) {
      await kvWriteGuarded(this.deps.bills, key, EMPTY, e.revision, 'DEL').catch(() => undefined);
    }
  }

  /** Deletes the bill records the previous version held and the new one does not (if still this manifest's). */
  private async releaseBills(
    prev: ManifestHeader | undefined,
    next: ManifestHeader,
    carrier: string,
  ): Promise<void> {
    if (!prev) return;
    const kept = new Set(next.billNumbers);
    await Promise.all(
      prev.billNumbers
        .filter((n) => !kept.has(n))
        .map(async (n) => {
          const e = await this.deps.bills.get(n);
          const held = decodeOr(e, (b) => BillRecord.decode(b));
          if (held?.callId === next.callId && held.carrierCode === carrier && e) {
            await kvWriteGuarded(this.deps.bills, n, EMPTY, e.revision, 'DEL').catch(() => undefined);
          }
        }),
    );
  }
}

const EMPTY = new Uint8Array(0);
