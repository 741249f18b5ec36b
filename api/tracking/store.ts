// The state the tracking API reads, as a port: container status, vessel visits and declarations live in the
// processor's JetStream KV buckets (core/nats/buckets.ts, formats in core/state/*), decisions in the
// PS_DECISIONS stream. Container and visit values are the API message's protobuf followed by the processor's
// bookkeeping fields (numbers 100 and up), so decoding them as the API message skips the bookkeeping.
// Point reads (a container, a visit, a declaration: every status request) are direct gets over pipelined
// requests (core/nats/pipelined.ts): the KV client's get sets up a reply subscription entry, a timer and an
// Error with a stack trace for every read, which cost as much CPU as the rest of a status request.
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  BUCKET_CONTAINERS,
  BUCKET_DECLARATIONS,
  BUCKET_LIST_INDEX,
  BUCKET_VESSEL_VISITS,
  ensureBucket,
} from '../../core/nats/buckets.js';
import { CasBucket, PipelinedRequests, type CasEntry } from '../../core/nats/pipelined.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeDeclarationState, type DeclarationState } from '../../core/state/declaration.js';
import { isIndexToken, listedId, type Listed } from '../../core/state/list-index.js';
import { Decision, type Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { VesselVisit } from '../../proto/gen/portstream/v1/tracking.js';
import { decodeContainerRecord, type ContainerRecord } from '../../core/state/container.js';

export interface StatusWatch {
  /** Each new state of the container (deletes are skipped); ends after stop(). */
  updates: AsyncIterable<ContainerRecord>;
  /**
   * Ends the updates and deletes the watch's consumer on the server (else it stays there until its inactivity
   * threshold, 5 minutes). Safe to call more than once; never rejects.
   */
  stop(): Promise<void>;
}

export interface TrackingStore {
  /** The container's status and the processor's bookkeeping of it (shipments decide who may see it). */
  container(containerNumber: string): Promise<ContainerRecord | undefined>;
  watchContainer(containerNumber: string): Promise<StatusWatch>;
  vesselVisit(visitId: string): Promise<VesselVisit | undefined>;
  /** Every visit id, sorted (the bucket holds active and recent visits only). */
  vesselVisitIds(): Promise<string[]>;
  /** The current revision of a declaration (its parties decide who may see it). */
  declaration(declarationNumber: string): Promise<Declaration | undefined>;
  /** The declaration with its revision and decisions (the last is current). */
  declarationState(declarationNumber: string): Promise<DeclarationState | undefined>;
  /**
   * The ids listed in the list index under a prefix (core/state/list-index.ts), sorted, without duplicates:
   * candidates for a list, each still to be checked against its record.
   */
  listed(prefix: string): Promise<string[]>;
  /**
   * Every live container (c) or declaration (d) number whose key is an index token, sorted: the candidates of
   * a caller who may list all (customs, admin), read from the source bucket's keys.
   */
  every(what: Listed): Promise<string[]>;
  decisions(declarationNumber: string): Promise<Decision[]>;
}

/** The header a KV delete or purge carries its operation in (the KV client's kvOperationHdr). */
const KV_OPERATION = 'KV-Operation';

/** KV keys allow [-/_=.a-zA-Z0-9]; container, visit and declaration ids fit. Anything else cannot exist. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

export class KvTrackingStore implements TrackingStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly requests: PipelinedRequests,
    /** The containers bucket's name (WatchContainer follows its key subjects) and its stream. */
    private readonly containersBucket: string,
    /** The declarations bucket's name (every() lists its keys). */
    private readonly declarationsBucket: string,
    /** Listed (vessel visit ids) through the KV client. */
    private readonly visits: KV,
    private readonly reads: { containers: CasBucket; visits: CasBucket; declarations: CasBucket },
    /** The list index bucket's name. */
    private readonly indexBucket: string,
  ) {}

  /**
   * Opens the three buckets it reads, creating them when missing where its NATS user may (the deployed `api`
   * user may only read them, and nothing else: not ps_declarants).
   */
  static async open(nc: NatsConnection, replicas = 1, prefix = ''): Promise<KvTrackingStore> {
    const js = jetstream(nc);
    // Only the buckets it reads: the API's NATS user may open no others.
    const names = [BUCKET_CONTAINERS, BUCKET_VESSEL_VISITS, BUCKET_DECLARATIONS, BUCKET_LIST_INDEX].map(
      (b) => `${prefix}${b}`,
    );
    const [, visits] = await Promise.all(names.map((n) => ensureBucket(js, n, replicas)));
    const requests = new PipelinedRequests(nc);
    const [c, v, d] = names.map((n) => new CasBucket(requests, n)) as [CasBucket, CasBucket, CasBucket];
    return new KvTrackingStore(
      js,
      await jetstreamManager(nc),
      requests,
      names[0] as string,
      names[2] as string,
      visits as KV,
      { containers: c, visits: v, declarations: d },
      names[3] as string,
    );
  }

  private get containersStream(): string {
    return `KV_${this.containersBucket}`;
  }

  /** Ends the reply subscription; reads still waiting fail. The connection stays the caller's. */
  close(): void {
    this.requests.close();
  }

  async container(n: string): Promise<ContainerRecord | undefined> {
    return KEY.test(n) ? decodeEntry(await this.reads.containers.get(n), decodeContainerRecord) : undefined;
  }

  /**
   * An ordered push consumer on the key's subject of the bucket's stream, from its latest value: what the KV
   * client's watch() does, but with the consumer in hand, so stop() can delete it on the server. Messages are
   * taken by callback, not by iterator: an iterator's stop is queued behind unread messages and only runs when
   * someone reads them, so a watch stopped before (or while not) reading kept its subscription and heartbeat
   * timer, and re-created its consumer when the heartbeats stopped. Only the latest value is kept: a slow
   * reader gets the current status, skipping the ones it was too slow for, with nothing queued.
   */
  async watchContainer(n: string): Promise<StatusWatch> {
    const consumer = await this.js.consumers.getPushConsumer(this.containersStream, {
      filter_subjects: `$KV.${this.containersBucket}.${n}`,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    let latest: Uint8Array | undefined;
    let ended = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let messages: ConsumerMessages;
    try {
      messages = await consumer.consume({
        callback: (m) => {
          // A delete or purge carries the operation in a header; a put carries none (or PUT).
          const op = m.headers?.get(KV_OPERATION) ?? '';
          if ((op !== '' && op !== 'PUT') || m.data.length === 0) return;
          latest = m.data;
          wake?.();
        },
      });
    } catch (err) {
      await consumer.delete().catch(() => false);
      throw err;
    }
    void messages.closed().then((err) => {
      if (err) failure = err;
      ended = true;
      wake?.();
    });
    async function* updates(): AsyncGenerator<ContainerRecord> {
      for (;;) {
        if (latest === undefined) {
          if (ended) {
            if (failure) throw failure;
            return;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        const data = latest;
        latest = undefined;
        yield decodeContainerRecord(data);
      }
    }
    let stopped: Promise<void> | undefined;
    return {
      updates: updates(),
      stop: () => {
        stopped ??= (async () => {
          ended = true;
          latest = undefined;
          wake?.();
          messages.stop();
          // delete() names the current consumer (an ordered consumer re-created after a gap has a new name).
          await consumer.delete().catch(() => false);
        })();
        return stopped;
      },
    };
  }

  async vesselVisit(id: string): Promise<VesselVisit | undefined> {
    return KEY.test(id)
      ? decodeEntry(await this.reads.visits.get(id), (b) => VesselVisit.decode(b))
      : undefined;
  }

  async vesselVisitIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const k of await this.visits.keys()) ids.push(k);
    return ids.sort();
  }

  async declaration(no: string): Promise<Declaration | undefined> {
    return KEY.test(no)
      ? decodeEntry(await this.reads.declarations.get(no), (b) => decodeDeclarationState(b).declaration)
      : undefined;
  }

  async declarationState(no: string): Promise<DeclarationState | undefined> {
    return KEY.test(no)
      ? decodeEntry(await this.reads.declarations.get(no), decodeDeclarationState)
      : undefined;
  }

  async listed(prefix: string): Promise<string[]> {
    return this.keysUnder(this.indexBucket, prefix, listedId);
  }

  async every(what: Listed): Promise<string[]> {
    const bucket = what === 'c' ? this.containersBucket : this.declarationsBucket;
    const ids = await this.keysUnder(bucket, '', (key) => key);
    return ids.filter(isIndexToken);
  }

  /**
   * The live keys of a bucket under a prefix, each as `idOf` makes it, sorted and without duplicates: a
   * headers-only ordered consumer delivering each key's last message, deleted after the read (a key whose last
   * message is a delete is not listed). The number of keys, from the stream's subject counts, bounds the read,
   * so an empty list costs one request and no fetch timeout.
   */
  private async keysUnder(bucket: string, prefix: string, idOf: (key: string) => string): Promise<string[]> {
    const stream = `KV_${bucket}`;
    const subjectPrefix = `$KV.${bucket}.`;
    const filter = `${subjectPrefix}${prefix}>`;
    const info = await this.jsm.streams.info(stream, { subjects_filter: filter });
    let left = Object.keys(info.state.subjects ?? {}).length;
    const ids = new Set<string>();
    if (left === 0) return [];
    const consumer = await this.js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.LastPerSubject,
      headers_only: true,
    });
    try {
      while (left > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(left, 1000), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          const op = m.headers?.get(KV_OPERATION) ?? '';
          if (op === '' || op === 'PUT') ids.add(idOf(m.subject.slice(subjectPrefix.length)));
        }
        if (got === 0) break;
        left -= got;
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
    return [...ids].sort();
  }

  /**
   * Reads the declaration's subject of the decisions stream from the start with an ordered consumer, deleted
   * after the read.
   */
  async decisions(no: string): Promise<Decision[]> {
    if (!KEY.test(no)) return [];
    const subject = subjects.decision(no);
    // The subject's message count bounds the read, so an empty history costs one request, not a fetch timeout.
    const info = await this.jsm.streams.info(STREAM_DECISIONS, { subjects_filter: subject });
    let left = info.state.subjects?.[subject] ?? 0;
    const out: Decision[] = [];
    if (left === 0) return out;
    const consumer = await this.js.consumers.get(STREAM_DECISIONS, {
      // A single string (filter_subject): nats-server 2.9 has no multi-subject filters.
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.All,
    });
    try {
      while (left > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(left, 256), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          out.push({ ...Decision.decode(m.data), position: m.seq });
          got++;
        }
        if (got === 0) break;
        left -= got;
      }
    } finally {
      // Deleted now rather than left to its inactivity threshold (5 minutes): one consumer per call otherwise.
      await consumer.delete().catch(() => false);
    }
    return out;
  }
}

function decodeEntry<T>(
  e: Pick<CasEntry, 'operation' | 'value'> | null,
  decode: (b: Uint8Array) => T,
): T | undefined {
  return e && e.operation === 'PUT' && e.value.length > 0 ? decode(e.value) : undefined;
}
