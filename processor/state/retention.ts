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
// The markers stay (tens of bytes each, instead of a record of a few KB): removing them needs STREAM.PURGE,
// which the processor's NATS user does not hold.
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { isWrongRevision } from '../../core/nats/cas.js';
import { revisionGuardId } from '../../core/nats/pipelined.js';
import {
  decodeContainerRecord,
  encodeRetiredContainer,
  type ContainerRecord,
} from '../../core/state/container.js';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { ContainerLocation } from '../../proto/gen/portstream/v1/tracking.js';
import { readDeclarationStatuses } from './customs.js';

export interface RetentionDeps {
  js: JetStreamClient;
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
}

export interface RetentionHandle {
  /** One sweep now (also what the timer runs); sweeps never overlap. */
  sweep(): Promise<SweepResult>;
  stop(): Promise<void>;
}

/** Most candidates judged per sweep: bounds the memory of one sweep; the next sweep takes the rest. */
const MAX_CANDIDATES = 10_000;
const FETCH = 500;
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
  key: string;
  revision: number;
  rec: ContainerRecord;
}

export function startContainerRetention(deps: RetentionDeps): RetentionHandle {
  const log = deps.logger.child({ component: 'container-retention' });
  const now = deps.now ?? ((): Date => new Date());
  const bucket = deps.buckets.names.containers;
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const intervalMs =
    deps.intervalMs ?? Math.min(3_600_000, Math.max(60_000, Math.floor(deps.retentionMs / 10)));
  const state = { stopping: false };
  let running: Promise<SweepResult> | undefined;

  /** The records left beyond the retention with no open shipment, read in one pass over the bucket's stream. */
  const candidates = async (cutoff: Date): Promise<{ scanned: number; found: Candidate[] }> => {
    const found: Candidate[] = [];
    let scanned = 0;
    // An ordered consumer over each key's latest message, deleted on the server once read.
    const oc = await deps.js.consumers.get(stream, {
      filter_subjects: `${prefix}>`,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    try {
      for (;;) {
        if (state.stopping || found.length >= MAX_CANDIDATES) break;
        const batch = await oc.fetch({ max_messages: FETCH, expires: 1000 });
        let n = 0;
        let pending = -1;
        for await (const m of batch) {
          n++;
          pending = m.info.pending;
          const c = judge(m, cutoff);
          if (c === 'live') scanned++;
          else if (c !== undefined) {
            scanned++;
            if (found.length < MAX_CANDIDATES) found.push(c);
          }
        }
        if (n === 0 || pending === 0) break;
      }
    } finally {
      await oc.delete().catch((err: unknown) => {
        log.warn({ err }, 'scan consumer not deleted; the server removes it when idle');
      });
    }
    return { scanned, found };
  };

  const judge = (m: JsMsg, cutoff: Date): Candidate | 'live' | undefined => {
    const op = m.headers?.get(KV_OPERATION) ?? '';
    if ((op !== '' && op !== 'PUT') || m.data.length === 0) return undefined;
    let rec: ContainerRecord;
    try {
      rec = decodeContainerRecord(m.data);
    } catch {
      return 'live';
    }
    if (!retirable(rec, cutoff)) return 'live';
    return { key: m.subject.slice(prefix.length), revision: m.seq, rec };
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
    const { scanned, found } = await candidates(cutoff);
    let retired = 0;
    let kept = 0;
    for (const c of found) {
      if (state.stopping) break;
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
    log.info({ scanned, retired, kept, cutoff }, 'container retention sweep');
    return { scanned, retired, kept };
  };

  const sweep = (): Promise<SweepResult> => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = (): void => {
    sweep().catch((err: unknown) => {
      log.error({ err }, 'container retention sweep failed; the next one retries');
    });
  };
  const timer = deps.timer === false ? undefined : setInterval(tick, intervalMs);
  timer?.unref();
  if (timer) tick();

  return {
    sweep,
    async stop() {
      state.stopping = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
