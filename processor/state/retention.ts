// Retention of containers that left the port: a sweep in the processor's state role removes from ps_containers
// every record whose container left (gate-out, pick-up or loading) more than PROCESSOR_CONTAINER_RETENTION_HOURS ago and
// that nothing still needs: no shipment that has not ended (a manifest for a call it is still to make, or one
// under way) and no linked declaration still being decided (pending, document check, physical inspection). The
// container's history stays in ClickHouse; the API answers NOT_FOUND for it, as for any unknown container.
//
// A record is removed with a KV delete marker written only if the record is still the revision the sweep judged
// (compare-and-set: an event or a manifest that changed it meanwhile wins, and the next sweep judges again), so
// several processors may sweep at once. The marker's body (core/state/container.ts RetiredContainer) is what the
// state consumer drops late and replayed events by: none at or before the watermark recreates the container. The
// list index projection sees the marker on the bucket's stream and takes the container off every list.
//
// Why explicit deletes and not the bucket's max_age: with nats-server 2.9 a KV bucket has no per-key TTL, and a
// bucket max_age would expire every container, in the terminal or not, by its last change.
//
// The marker itself is a key nats-server keeps in memory, so it goes too once nothing needs it (core/nats/compact.ts:
// deleted by its sequence): once no event at or before its watermark can still reach the state consumer (a gateway
// accepts an event at most INGEST_MAX_AGE_DAYS late, and the events stream keeps it at most its max_age), and once
// the list index projection has acked it (nothing older of the key can then be delivered to it, so it cannot
// list the container again). Until both hold the marker stays; with an events stream that has no max_age every
// marker stays.
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { INDEX_CONSUMER } from '../../core/consumer/index.js';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { isWrongRevision } from '../../core/nats/cas.js';
import {
  ackFloor,
  inBatches,
  deleteStored,
  scanLatest,
  startSweeps,
  SWEEP_WIDTH,
  type Sweeps,
} from '../../core/nats/compact.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { revisionGuardId } from '../../core/nats/pipelined.js';
import {
  decodeContainerRecord,
  decodeRetiredContainer,
  encodeRetiredContainer,
  type ContainerRecord,
} from '../../core/state/container.js';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { ContainerLocation } from '../../proto/gen/portstream/v1/tracking.js';
import { readDeclarationStatuses } from './customs.js';

export interface RetentionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  logger: Logger;
  /** How long after leaving a container is kept (PROCESSOR_CONTAINER_RETENTION_HOURS). */
  retentionMs: number;
  /** Time between sweeps (default: a tenth of the retention, between one minute and one hour). */
  intervalMs?: number;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Counts the containers removed. */
  onRetired?: (count: number) => void;
  /**
   * How late a gateway still accepts an event (INGEST_MAX_AGE_DAYS): with it, a retirement marker is removed once
   * no event it guards against can still arrive (see markerCutoff); without it markers stay.
   */
  lateEventsMs?: number;
  /** Counts the retirement markers removed. */
  onRemoved?: (count: number) => void;
  /** Sweep at start and then every intervalMs (default true); false: only when sweep() is called. */
  timer?: boolean;
}

export interface SweepResult {
  /** Live container records read. */
  scanned: number;
  /** Removed by this sweep. */
  retired: number;
  /** Left beyond the retention but still needed (an open shipment or declaration). */
  kept: number;
  /** Retirement markers removed (old enough that no event they guard against can still arrive). */
  removed: number;
}

export type RetentionHandle = Sweeps<SweepResult>;

/** Most candidates judged per sweep: bounds the memory of one sweep; the next sweep takes the rest. */
const MAX_CANDIDATES = 10_000;
const KV_OPERATION = 'KV-Operation';

/** Declarations still being decided: the container may still be linked, inspected or released. */
const OPEN_DECLARATION: ReadonlySet<ClearanceStatus | undefined> = new Set([
  ClearanceStatus.UNSPECIFIED,
  ClearanceStatus.PENDING,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
]);

/** When the container left, if it is out of the port (gone by road or on a vessel). */
export function leftPortAt(rec: ContainerRecord): Date | undefined {
  const loc = rec.status.location;
  if (loc !== ContainerLocation.LEFT_TERMINAL && loc !== ContainerLocation.ON_VESSEL) return undefined;
  return rec.bookkeeping.leftTime;
}

/** Every declaration number the record links (its own and its bills'). */
export function linkedDeclarations(rec: ContainerRecord): string[] {
  const bills = rec.bookkeeping.shipments.flatMap((s) => s.bills.flatMap((b) => b.declarationNumbers));
  return [...new Set([...rec.status.declarationNumbers, ...bills])];
}

/** Left before `cutoff` and on no shipment that has not ended; declarations are checked separately. */
export function retirable(rec: ContainerRecord, cutoff: Date): boolean {
  const left = leftPortAt(rec);
  if (left === undefined || left.getTime() > cutoff.getTime()) return false;
  return rec.bookkeeping.shipments.every((s) => s.endedTime !== undefined);
}

interface Candidate {
  kind: 'record';
  key: string;
  revision: number;
  rec: ContainerRecord;
}

/** A retirement marker old enough to be removed. */
interface Marker {
  kind: 'marker';
  key: string;
  seq: number;
}

type Judged = Candidate | Marker | 'live' | undefined;

interface Scan {
  scanned: number;
  found: Candidate[];
  expired: Marker[];
}

/** Time between sweeps for a retention: a tenth of it, between one minute and one hour. */
export function sweepIntervalMs(retentionMs: number): number {
  return Math.min(3_600_000, Math.max(60_000, Math.floor(retentionMs / 10)));
}

export function startContainerRetention(deps: RetentionDeps): RetentionHandle {
  const log = deps.logger.child({ component: 'container-retention' });
  const now = deps.now ?? ((): Date => new Date());
  const bucket = deps.buckets.names.containers;
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const intervalMs = deps.intervalMs ?? sweepIntervalMs(deps.retentionMs);
  let stopping = (): boolean => false;
  // Whether the last sweep stopped at a cap, with more left for the next.
  let capped = false;

  /**
   * The records left beyond the retention with no open shipment, and the retirement markers old enough to go,
   * read in one pass over the bucket's stream.
   */
  const candidates = async (cutoff: Date, markerCutoff: Date | undefined): Promise<Scan> => {
    const out: Scan = { scanned: 0, found: [], expired: [] };
    await scanLatest(deps.js, deps.jsm, { stream, filter: `${prefix}>` }, (m) => {
      const c = judge(m, cutoff, markerCutoff);
      if (c === 'live') out.scanned++;
      else if (c?.kind === 'record') {
        out.scanned++;
        if (out.found.length < MAX_CANDIDATES) out.found.push(c);
      } else if (c?.kind === 'marker' && out.expired.length < MAX_CANDIDATES) out.expired.push(c);
      return !stopping() && out.found.length < MAX_CANDIDATES;
    });
    return out;
  };

  const judge = (m: JsMsg, cutoff: Date, markerCutoff: Date | undefined): Judged => {
    const key = m.subject.slice(prefix.length);
    const op = m.headers?.get(KV_OPERATION) ?? '';
    if (op === 'DEL' && markerCutoff !== undefined) {
      const retired = decodeRetiredContainer(m.data);
      if (retired && retired.watermarkTime.getTime() < markerCutoff.getTime()) {
        return { kind: 'marker', key, seq: m.seq };
      }
      return undefined;
    }
    if ((op !== '' && op !== 'PUT') || m.data.length === 0) return undefined;
    let rec: ContainerRecord;
    try {
      rec = decodeContainerRecord(m.data);
    } catch {
      return 'live';
    }
    if (!retirable(rec, cutoff)) return 'live';
    return { kind: 'record', key, revision: m.seq, rec };
  };

  /**
   * When markers may go: an event at or before a marker's watermark is accepted by a gateway at most
   * lateEventsMs after it, and is then delivered from the events stream for at most the stream's max_age. Past
   * both no event the marker guards against can reach the state consumer. Undefined (keep every marker) without
   * lateEventsMs or when the events stream keeps messages without an age limit.
   */
  const markerCutoff = async (at: Date): Promise<Date | undefined> => {
    if (deps.lateEventsMs === undefined) return undefined;
    let maxAgeNs: number;
    try {
      maxAgeNs = (await deps.jsm.streams.info(STREAM_EVENTS)).config.max_age;
    } catch (err) {
      // No events stream yet: no age to count from, so every marker stays this sweep.
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    }
    if (maxAgeNs <= 0) return undefined;
    return new Date(at.getTime() - deps.lateEventsMs - maxAgeNs / 1e6);
  };

  /**
   * Removes the markers the list index projection has already taken: it acks a marker once it took the container
   * off every list, and nothing at or below its ack floor is delivered to it again.
   */
  const removeMarkers = async (expired: readonly Marker[]): Promise<number> => {
    if (expired.length === 0) return 0;
    const floor = await ackFloor(deps.jsm, stream, INDEX_CONSUMER);
    const ready = expired.filter((m) => m.seq <= floor);
    const deleted = await inBatches(ready, SWEEP_WIDTH, (m) => deleteStored(deps.jsm, stream, m.seq));
    return deleted.filter(Boolean).length;
  };

  /** Writes the marker if the record is still the revision judged; false when it changed meanwhile. */
  const retire = async (c: Candidate, at: Date): Promise<boolean> => {
    const bk = c.rec.bookkeeping;
    const leftTime = bk.leftTime ?? at;
    const h = natsHeaders();
    h.set(KV_OPERATION, 'DEL');
    try {
      const ack = await deps.js.publish(
        `${prefix}${c.key}`,
        encodeRetiredContainer({ watermarkTime: bk.watermarkTime ?? leftTime, leftTime, retiredTime: at }),
        // The revision guard (core/nats/cas.ts): no other write can replace the same revision meanwhile.
        {
          headers: h,
          msgID: revisionGuardId(c.key, c.revision),
          expect: { lastSubjectSequence: c.revision },
        },
      );
      return !ack.duplicate;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  };

  const sweepOnce = async (): Promise<SweepResult> => {
    const at = now();
    const cutoff = new Date(at.getTime() - deps.retentionMs);
    const { scanned, found, expired } = await candidates(cutoff, await markerCutoff(at));
    capped = found.length >= MAX_CANDIDATES || expired.length >= MAX_CANDIDATES;
    let retired = 0;
    let kept = 0;
    for (const c of found) {
      if (stopping()) break;
      const numbers = linkedDeclarations(c.rec);
      const statuses =
        numbers.length === 0
          ? new Map<string, ClearanceStatus | undefined>()
          : await readDeclarationStatuses(deps.buckets.declarations, numbers);
      if (numbers.some((n) => OPEN_DECLARATION.has(statuses.get(n) ?? ClearanceStatus.CLEARED))) {
        kept++;
        continue;
      }
      if (await retire(c, at)) retired++;
    }
    if (retired > 0) deps.onRetired?.(retired);
    const removed = stopping() ? 0 : await removeMarkers(expired);
    if (removed > 0) deps.onRemoved?.(removed);
    log.info({ scanned, retired, kept, removed, cutoff }, 'container retention sweep');
    return { scanned, retired, kept, removed };
  };

  return startSweeps(
    (isStopping) => {
      stopping = isStopping;
      return sweepOnce();
    },
    {
      intervalMs,
      ...(deps.timer === undefined ? {} : { timer: deps.timer }),
      more: () => capped,
      onError: (err) => {
        log.error({ err }, 'container retention sweep failed; the next one retries');
      },
    },
  );
}
