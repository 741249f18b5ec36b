// The state the tracking API reads, as a port: container status, vessel visits and declarations live in the
// processor's JetStream KV buckets (core/nats/buckets.ts, formats in core/state/*), decisions in the
// PS_DECISIONS stream. Container and visit values are the API message's protobuf followed by the processor's
// bookkeeping fields (numbers 100 and up), so decoding them as the API message skips the bookkeeping.
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  BUCKET_CONTAINERS,
  BUCKET_DECLARATIONS,
  BUCKET_VESSEL_VISITS,
  ensureBucket,
} from '../../core/nats/buckets.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { Decision, type Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { ContainerStatus, VesselVisit } from '../../proto/gen/portstream/v1/tracking.js';

export interface StatusWatch {
  /** Each new status of the container (deletes are skipped). */
  updates: AsyncIterable<ContainerStatus>;
  stop(): void;
}

export interface TrackingStore {
  container(containerNumber: string): Promise<ContainerStatus | undefined>;
  watchContainer(containerNumber: string): Promise<StatusWatch>;
  vesselVisit(visitId: string): Promise<VesselVisit | undefined>;
  /** Every visit id, sorted (the bucket holds active and recent visits only). */
  vesselVisitIds(): Promise<string[]>;
  /** The current revision of a declaration (its parties decide who may see it). */
  declaration(declarationNumber: string): Promise<Declaration | undefined>;
  decisions(declarationNumber: string): Promise<Decision[]>;
}

/** KV keys allow [-/_=.a-zA-Z0-9]; container, visit and declaration ids fit. Anything else cannot exist. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

export class KvTrackingStore implements TrackingStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly containers: KV,
    private readonly visits: KV,
    private readonly declarations: KV,
  ) {}

  /**
   * Opens the three buckets it reads, creating them when missing where its NATS user may (the deployed `api`
   * user may only read them, and nothing else: not ps_declarants).
   */
  static async open(nc: NatsConnection, replicas = 1, prefix = ''): Promise<KvTrackingStore> {
    const js = jetstream(nc);
    const [containers, visits, declarations] = await Promise.all(
      [BUCKET_CONTAINERS, BUCKET_VESSEL_VISITS, BUCKET_DECLARATIONS].map((b) =>
        ensureBucket(js, `${prefix}${b}`, replicas),
      ),
    );
    return new KvTrackingStore(
      js,
      await jetstreamManager(nc),
      containers as KV,
      visits as KV,
      declarations as KV,
    );
  }

  async container(n: string): Promise<ContainerStatus | undefined> {
    return KEY.test(n)
      ? decodeEntry(await this.containers.get(n), (b) => ContainerStatus.decode(b))
      : undefined;
  }

  async watchContainer(n: string): Promise<StatusWatch> {
    const it = await this.containers.watch({ key: n });
    async function* updates(): AsyncGenerator<ContainerStatus> {
      for await (const e of it) {
        if (e.operation === 'PUT') yield ContainerStatus.decode(e.value);
      }
    }
    return {
      updates: updates(),
      stop: () => {
        it.stop();
      },
    };
  }

  async vesselVisit(id: string): Promise<VesselVisit | undefined> {
    return KEY.test(id) ? decodeEntry(await this.visits.get(id), (b) => VesselVisit.decode(b)) : undefined;
  }

  async vesselVisitIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const k of await this.visits.keys()) ids.push(k);
    return ids.sort();
  }

  async declaration(no: string): Promise<Declaration | undefined> {
    return KEY.test(no)
      ? decodeEntry(await this.declarations.get(no), (b) => decodeDeclarationState(b).declaration)
      : undefined;
  }

  /** Reads the declaration's subject of the decisions stream from the start with an ordered consumer. */
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
    return out;
  }
}

function decodeEntry<T>(
  e: { operation: string; value: Uint8Array } | null,
  decode: (b: Uint8Array) => T,
): T | undefined {
  return e && e.operation === 'PUT' && e.value.length > 0 ? decode(e.value) : undefined;
}
