// The whole system in one process for the parties suites: a real nats-server, embedded ClickHouse, the gateway
// (events, customs, manifests), the processor (state and decider), the sink and the tracking API, with a client
// per party. Every call goes through the public gRPC or HTTP API, as the party itself would make it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { INDEX_CONSUMER } from '../../core/consumer/index.js';
import type { Facility, VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { Registry } from 'prom-client';
import { startApi, type ApiHandle } from '../../api/main.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { TEST_RULES } from '../helpers/declarations.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { startProcessor, type ProcessorHandle } from '../../processor/main.js';
import { createSinkMetrics, startSink, type SinkHandle } from '../../sink/index.js';
import {
  CustomsServiceClient,
  type Declaration,
  type SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType, EventClassifier, type Event } from '../../proto/gen/portstream/v1/events.js';
import { EventStatus, IngestServiceClient, type EventResult } from '../../proto/gen/portstream/v1/ingest.js';
import {
  ManifestServiceClient,
  type CargoManifest,
  type FileManifestResponse,
} from '../../proto/gen/portstream/v1/manifest.js';
import {
  TrackingServiceClient,
  type ContainerStatus,
  type GetContainerStatusResponse,
  type ListContainerEventsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { HICT } from '../helpers/manifests.js';
import { containerMove } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import { unary } from '../helpers/rpc.js';
import { SINK_CONFIG, startClickHouse, startNats, type ChFixture, type NatsFixture } from './sink-fixture.js';

export type Party = keyof typeof TOKENS;

export interface PartyClients {
  manifests: ManifestServiceClient;
  customs: CustomsServiceClient;
  ingest: IngestServiceClient;
  tracking: TrackingServiceClient;
}

export interface PartiesFixture {
  as(party: Party): PartyClients;
  httpUrl: string;
  /** The gateway's gRPC address (events, customs, manifests), for the simulator. */
  ingestAddress: string;
  buckets: Buckets;
  /** Publishes events as the party; resolves with the per-event results. */
  publish(party: Party, events: Event[]): Promise<EventResult[]>;
  file(party: Party, m: CargoManifest, expectedVersion?: number): Promise<FileManifestResponse>;
  declare(party: Party, d: Declaration): Promise<SubmitDeclarationResponse>;
  status(party: Party, container: string): Promise<ContainerStatus>;
  history(party: Party, container: string): Promise<ListContainerEventsResponse>;
  /** Waits until the admin's view of the container satisfies the probe (the processor applies asynchronously). */
  until(container: string, ok: (s: ContainerStatus) => boolean, what: string): Promise<ContainerStatus>;
  /** Waits until the list index has projected every change to a container or a declaration made so far. */
  untilIndexed(): Promise<void>;
  /** Waits until ClickHouse holds at least n events of the container. */
  untilHistory(container: string, n: number): Promise<void>;
  close(): Promise<void>;
}

let serial = 0;

/** An ACTUAL equipment event at HICT (or `facility`) with a fresh id. */
export function move(
  type: EquipmentEventType,
  container: string,
  over: { vessel?: VesselRef; at?: Date; facility?: Facility } = {},
): Event {
  const id = `pt-${Date.now().toString(36)}-${++serial}`;
  const at = over.at ?? new Date(Date.now() - 60_000 + serial);
  const inYard = type === EquipmentEventType.DISC || type === EquipmentEventType.GTIN;
  const atGate = type === EquipmentEventType.GTOT || type === EquipmentEventType.GTIN;
  const event = containerMove(id, type, container, at, EventClassifier.ACTUAL, {
    emptyIndicator: 0,
    vessel: over.vessel,
    yardPosition: inYard ? { block: 'A1', bay: 1, row: 1, tier: 1 } : undefined,
    truckPlate: atGate ? '15C-12345' : '',
  });
  return { ...event, facility: over.facility ?? HICT };
}

export async function startPartiesFixture(): Promise<PartiesFixture> {
  const natsFx: NatsFixture = await startNats();
  const chFx: ChFixture = await startClickHouse();
  const { nc } = natsFx;
  // No random inspection: a sample declaration's channel is then fixed whatever secret the gateway draws.
  const rulesDir = await mkdtemp(path.join(tmpdir(), 'portstream-parties-rules-'));
  const rulesFile = path.join(rulesDir, 'rules.json');
  await writeFile(rulesFile, JSON.stringify(TEST_RULES));
  const config = loadConfig({
    INGEST_PORT: '0',
    PROCESSOR_ACK_WAIT_MS: '2000',
    CUSTOMS_RULES_FILE: rulesFile,
  });
  const ingest: IngestHandle = await startIngest({
    config,
    log: silentLogger(),
    nc,
    registry: new Registry(),
    auth: testAuth,
  });
  const processor: ProcessorHandle = await startProcessor({ config, log: silentLogger(), nc });
  const registry = new Registry();
  const sink: SinkHandle = await startSink({
    nc,
    ch: chFx.ch,
    config: SINK_CONFIG,
    log: silentLogger(),
    metrics: createSinkMetrics(registry),
    logIntervalMs: 0,
  });
  const api: ApiHandle = await startApi({
    config: {
      API_GRPC_HOST: '127.0.0.1',
      API_GRPC_PORT: 0,
      API_HTTP_HOST: '127.0.0.1',
      API_HTTP_PORT: 0,
      API_MAX_BODY_BYTES: 4096,
      RATE_LIMIT_API_PER_SECOND: 0,
      RATE_LIMIT_API_BURST: 1,
      JS_REPLICAS: 1,
      SHUTDOWN_TIMEOUT_MS: 2000,
    },
    log: silentLogger(),
    nc,
    ch: chFx.ch,
    registry,
    auth: testAuth,
  });
  const buckets = await ensureBuckets(jetstream(nc), 1);
  const clients = new Map<Party, PartyClients>();
  const as = (party: Party): PartyClients => {
    let c = clients.get(party);
    if (!c) {
      const token = TOKENS[party];
      c = {
        manifests: clientAs(ManifestServiceClient, ingest.address, token),
        customs: clientAs(CustomsServiceClient, ingest.address, token),
        ingest: clientAs(IngestServiceClient, ingest.address, token),
        tracking: clientAs(TrackingServiceClient, api.grpcAddress, token),
      };
      clients.set(party, c);
    }
    return c;
  };
  const status = async (party: Party, container: string): Promise<ContainerStatus> => {
    const t = as(party).tracking;
    const r: GetContainerStatusResponse = await unary(t.getContainerStatus.bind(t), {
      containerNumber: container,
    });
    if (!r.status) throw new Error('no status');
    return r.status;
  };
  return {
    as,
    httpUrl: api.httpUrl,
    ingestAddress: ingest.address,
    buckets,
    publish: async (party, events) => {
      const c = as(party).ingest;
      return (await unary(c.publishEvents.bind(c), { events })).results;
    },
    file: (party, m, expectedVersion = 0) => {
      const c = as(party).manifests;
      return unary(c.fileManifest.bind(c), { manifest: m, expectedVersion });
    },
    declare: (party, d) => {
      const c = as(party).customs;
      return unary(c.submitDeclaration.bind(c), { declaration: d });
    },
    status,
    history: (party, container) => {
      const t = as(party).tracking;
      return unary(t.listContainerEvents.bind(t), {
        containerNumber: container,
        pageSize: 1000,
        pageToken: '',
      });
    },
    until: (container, ok, what) =>
      waitFor(
        async () => {
          const s = await status('admin', container).catch(() => undefined);
          return s && ok(s) ? s : undefined;
        },
        { timeoutMs: 15_000, what: `${container}: ${what}` },
      ),
    untilIndexed: async () => {
      const jsm = await jetstreamManager(nc);
      const streams = [buckets.names.containers, buckets.names.declarations].map((b) => `KV_${b}`);
      await waitFor(
        async () => {
          const infos = await Promise.all(streams.map((st) => jsm.consumers.info(st, INDEX_CONSUMER)));
          return infos.every((ci) => ci.num_pending === 0 && ci.num_ack_pending === 0);
        },
        { timeoutMs: 20_000, what: 'the list index to catch up' },
      );
    },
    untilHistory: async (container, n) => {
      await waitFor(
        async () => {
          const t = as('admin').tracking;
          const r = await unary(t.listContainerEvents.bind(t), {
            containerNumber: container,
            pageSize: 1000,
            pageToken: '',
          }).catch(() => undefined);
          return r !== undefined && r.events.length >= n;
        },
        { timeoutMs: 20_000, what: `${container}: ${n} events in ClickHouse` },
      );
    },
    close: async () => {
      for (const c of clients.values()) {
        c.manifests.close();
        c.customs.close();
        c.ingest.close();
        c.tracking.close();
      }
      await api.stop();
      await ingest.stop();
      await processor.stop();
      await sink.stop();
      await chFx.cleanup();
      await natsFx.cleanup();
      await rm(rulesDir, { recursive: true, force: true });
    },
  };
}

/** Every event ACCEPTED, or the first refusal as an error. */
export function allAccepted(results: readonly EventResult[]): boolean {
  const bad = results.find((r) => r.status !== EventStatus.ACCEPTED);
  if (bad) throw new Error(`event ${bad.eventId}: ${EventStatus[bad.status]} ${bad.field} ${bad.reason}`);
  return true;
}
