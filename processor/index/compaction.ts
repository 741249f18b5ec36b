// Compaction of the list index bucket (core/state/list-index.ts), so that it holds keys for what is listed now
// and not for everything ever listed. The projection (keys.ts) takes a key off a list with a KV delete, which
// leaves a delete marker, and keeps a record `r.<c|d>.<id>` of each source key it projected, which for a
// container retired from ps_containers lists nothing. A sweep in the processor's state role (next to the
// projection) reads each index key's latest message once and deletes (core/nats/compact.ts: the message read, by
// its sequence, so a write since stays):
// - every delete marker: the projection never reads one as anything but absent, and readers skip them;
// - keys of a list of all (`a.c.<id>`, `a.d.<id>`) an index written before 2026-11-30 may hold: read by nothing;
// - a record that lists nothing, once its source key is gone (a delete marker or removed) and the projection's
//   durable has acked past the change the record was written from: no change of the old key can be delivered
//   again, so nothing older can re-list it, and a new value of the key is projected as a key never seen (keys.ts
//   creates its record). A record deleted under a projection that had read it makes that projection's
//   compare-and-set fail, and it starts over from the latest value.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { INDEX_CONSUMER } from '../../core/consumer/index.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import {
  ackFloor,
  inBatches,
  deleteStored,
  scanLatest,
  startSweeps,
  SWEEP_WIDTH,
  type Sweeps,
} from '../../core/nats/compact.js';

export interface IndexCompactionDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  buckets: Buckets;
  logger: Logger;
  /** Time between sweeps. */
  intervalMs: number;
  /** Sweep at start and then every intervalMs (default true); false: only when sweep() is called. */
  timer?: boolean;
  /** Counts the index keys removed. */
  onRemoved?: (count: number) => void;
}

export interface CompactionResult {
  /** Index keys read (their latest message). */
  scanned: number;
  /** Delete markers and keys of a list of all removed. */
  markers: number;
  /** Records of retired source keys removed. */
  records: number;
}

export type IndexCompactionHandle = Sweeps<CompactionResult>;

/** Most keys removed per sweep: bounds one sweep's time; the next sweep takes the rest. */
const MAX_PER_SWEEP = 50_000;
/** Most records that list nothing judged (one read of their source each) per sweep. */
const MAX_JUDGED = 200_000;
/** Keys gathered before they are acted on. */
const CHUNK = 1000;
const RECORD = /^r\.([cd])\.(.+)$/;

interface Found {
  key: string;
  seq: number;
}

interface EmptyRecord extends Found {
  what: 'c' | 'd';
  id: string;
  /** The source revision the record was written from. */
  rev: number;
}

/** The source revision of a record that lists nothing, or undefined for any other record. */
function emptyRecordRev(value: Uint8Array): number | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as { rev?: unknown; keys?: unknown };
    if (!Array.isArray(v.keys) || v.keys.length > 0 || typeof v.rev !== 'number') return undefined;
    return v.rev;
  } catch {
    return undefined;
  }
}

export function startIndexCompaction(deps: IndexCompactionDeps): IndexCompactionHandle {
  const log = deps.logger.child({ component: 'list-index-compaction' });
  const { names } = deps.buckets;
  const stream = `KV_${names.listIndex}`;
  const prefix = `$KV.${names.listIndex}.`;
  const sources = {
    c: { stream: `KV_${names.containers}`, kv: deps.buckets.containers },
    d: { stream: `KV_${names.declarations}`, kv: deps.buckets.declarations },
  } as const;
  let stopping = (): boolean => false;
  // Whether the last sweep stopped at a cap, with more left for the next.
  let capped = false;

  /** Whether an empty record's source key is gone and its durable is past the change it was written from. */
  const gone = async (r: EmptyRecord, floors: Record<'c' | 'd', number>): Promise<boolean> => {
    if (r.rev > floors[r.what]) return false;
    const e = await sources[r.what].kv.get(r.id);
    return e === null || (e.operation !== 'PUT' && e.revision <= r.rev);
  };

  const remove = async (found: readonly Found[]): Promise<number> => {
    const deleted = await inBatches(found, SWEEP_WIDTH, (f) =>
      stopping() ? Promise.resolve(false) : deleteStored(deps.jsm, stream, f.seq),
    );
    return deleted.filter(Boolean).length;
  };

  /**
   * One pass over the index, acting every CHUNK keys found so memory stays bounded: markers go at once; records
   * that list nothing go once judged gone. Records of containers still held (on no list, e.g. gone from the
   * terminal but not yet retired) are judged and kept, at most MAX_JUDGED a sweep, and the pass reads on past them.
   */
  const sweepOnce = async (): Promise<CompactionResult> => {
    // Read once, before anything is judged: a floor only rises, so an older one judges conservatively.
    const floors = {
      c: await ackFloor(deps.jsm, sources.c.stream, INDEX_CONSUMER),
      d: await ackFloor(deps.jsm, sources.d.stream, INDEX_CONSUMER),
    };
    const result: CompactionResult = { scanned: 0, markers: 0, records: 0 };
    let judged = 0;
    let dead: Found[] = [];
    let empty: EmptyRecord[] = [];
    const flush = async (): Promise<void> => {
      result.markers += await remove(dead);
      const verdicts = await inBatches(empty, SWEEP_WIDTH, (r) => gone(r, floors));
      judged += empty.length;
      result.records += await remove(empty.filter((_, i) => verdicts[i] === true));
      dead = [];
      empty = [];
    };
    await scanLatest(deps.js, deps.jsm, { stream, filter: `${prefix}>` }, async (m) => {
      result.scanned++;
      const key = m.subject.slice(prefix.length);
      const op = m.headers?.get('KV-Operation') ?? '';
      if (op === 'DEL' || op === 'PURGE' || key.startsWith('a.')) dead.push({ key, seq: m.seq });
      else {
        const r = RECORD.exec(key);
        const rev = r && m.data.length > 0 ? emptyRecordRev(m.data) : undefined;
        const what = r?.[1];
        const id = r?.[2];
        if (rev !== undefined && (what === 'c' || what === 'd') && id !== undefined) {
          empty.push({ key, seq: m.seq, what, id, rev });
        }
      }
      if (dead.length + empty.length >= CHUNK) await flush();
      return !stopping() && result.markers + result.records < MAX_PER_SWEEP && judged < MAX_JUDGED;
    });
    if (!stopping()) await flush();
    capped = result.markers + result.records >= MAX_PER_SWEEP || judged >= MAX_JUDGED;
    const removed = result.markers + result.records;
    if (removed > 0) deps.onRemoved?.(removed);
    log.info({ ...result, judged }, 'list index compaction sweep');
    return result;
  };

  return startSweeps(
    (isStopping) => {
      stopping = isStopping;
      return sweepOnce();
    },
    {
      intervalMs: deps.intervalMs,
      ...(deps.timer === undefined ? {} : { timer: deps.timer }),
      more: () => capped,
      onError: (err) => {
        log.error({ err }, 'list index compaction sweep failed; the next one retries');
      },
    },
  );
}
