// The whole data path for the suites that play one terminal operator against another through the public gRPC API: a real
// nats-server, the real ingest gateway, the processor's state consumer, the ClickHouse sink on embedded chDB and
// the tracking API (startApiFixture), all in this process on free ports. Callers are the test tokens
// (test-kit/auth.ts): hict-operator (VNHPH:HICT), tvct-operator (VNHPH:TVCT), admin.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { decodeContainerRecord, type ContainerRecord } from '../../core/state/container.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { SINK_CONSUMER } from '../../sink/index.js';
import {
  STATE_CONSUMER,
  startStateConsumer,
  type StateConsumerHandle,
} from '../../processor/state/consumer.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { IngestServiceClient, type EventResult } from '../../proto/gen/portstream/v1/ingest.js';
import {
  TrackingServiceClient,
  type ContainerStatus,
  type VesselVisit,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { waitFor } from '../../test-kit/poll.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';

export type TerminalParty = 'admin' | 'operator' | 'otherOperator';

export interface TerminalsFixture {
  fx: ApiFixture;
  ingest: IngestHandle;
  buckets: Buckets;
  /** Publishes one batch as `who` (PublishEvents) and returns the per-event results. */
  send(who: TerminalParty, events: Event[]): Promise<EventResult[]>;
  /** Another gateway on the same NATS (its own, empty, duplicate cache). */
  startOtherGateway(): Promise<Gateway>;
  /** GetContainerStatus as `who`: the status, or the gRPC status code of the refusal. */
  status(who: TerminalParty, containerNumber: string): Promise<ContainerStatus | number>;
  /** Every page of ListContainerEvents as `who` (page size `pageSize`), or the refusal's code. */
  history(who: TerminalParty, containerNumber: string, pageSize?: number): Promise<Event[] | number>;
  visit(who: TerminalParty, visitId: string): Promise<VesselVisit | number>;
  /** The processor's record (status and bookkeeping) as stored. */
  record(containerNumber: string): Promise<ContainerRecord | undefined>;
  /** Waits until the state consumer and the events sink have nothing pending or unacked. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface Gateway {
  send(who: TerminalParty, events: Event[]): Promise<EventResult[]>;
  close(): Promise<void>;
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

function call<Res>(f: (cb: Callback<Res>) => unknown): Promise<Res | number> {
  return new Promise((resolve, reject) => {
    f((err, res) => {
      if (err) resolve(err.code);
      else if (res) resolve(res);
      else reject(new Error('no response'));
    });
  });
}

async function drained(jsm: JetStreamManager, consumer: string): Promise<boolean> {
  const i = await jsm.consumers.info(STREAM_EVENTS, consumer);
  return i.num_pending === 0 && i.num_ack_pending === 0;
}

export async function startTerminals(): Promise<TerminalsFixture> {
  const fx = await startApiFixture();
  const nc = fx.natsFx.nc;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const buckets = await ensureBuckets(js, 1);
  const consumer: StateConsumerHandle = await startStateConsumer({
    js,
    jsm,
    nc,
    buckets,
    logger: silentLogger(),
  });
  const startGateway = async (): Promise<Gateway & { handle: IngestHandle }> => {
    const handle = await startIngest({
      config: loadConfig({ INGEST_PORT: '0' }),
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
    });
    const clients = {
      admin: clientAs(IngestServiceClient, handle.address, TOKENS.admin),
      operator: clientAs(IngestServiceClient, handle.address, TOKENS.operator),
      otherOperator: clientAs(IngestServiceClient, handle.address, TOKENS.otherOperator),
    };
    return {
      handle,
      send: async (who, events) => {
        const r = await call<{ results: EventResult[] }>((cb) =>
          clients[who].publishEvents({ events }, new Metadata(), { deadline: Date.now() + 10_000 }, cb),
        );
        if (typeof r === 'number') throw new Error(`PublishEvents as ${who} failed with code ${r}`);
        return r.results;
      },
      close: async () => {
        for (const c of Object.values(clients)) c.close();
        await handle.stop();
      },
    };
  };
  const gateway = await startGateway();
  const tracking = {
    admin: clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS.admin),
    operator: clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS.operator),
    otherOperator: clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS.otherOperator),
  };
  const f: TerminalsFixture = {
    fx,
    ingest: gateway.handle,
    buckets,
    send: (who, events) => gateway.send(who, events),
    startOtherGateway: startGateway,
    status: async (who, containerNumber) => {
      const r = await call<{ status?: ContainerStatus | undefined }>((cb) =>
        tracking[who].getContainerStatus({ containerNumber }, cb),
      );
      return typeof r === 'number' ? r : (r.status as ContainerStatus);
    },
    history: async (who, containerNumber, pageSize = 100) => {
      const out: Event[] = [];
      let pageToken = '';
      for (;;) {
        const r = await call<{ events: Event[]; nextPageToken: string }>((cb) =>
          tracking[who].listContainerEvents({ containerNumber, pageSize, pageToken }, cb),
        );
        if (typeof r === 'number') return r;
        out.push(...r.events);
        if (r.nextPageToken === '') return out;
        pageToken = r.nextPageToken;
      }
    },
    visit: async (who, visitId) => {
      const r = await call<{ visit?: VesselVisit | undefined }>((cb) =>
        tracking[who].getVesselVisit({ visitId }, cb),
      );
      return typeof r === 'number' ? r : (r.visit as VesselVisit);
    },
    record: async (n) => {
      const e = await buckets.containers.get(n);
      return e?.operation === 'PUT' ? decodeContainerRecord(e.value) : undefined;
    },
    settle: async () => {
      await waitFor(async () => (await drained(jsm, STATE_CONSUMER)) && (await drained(jsm, SINK_CONSUMER)), {
        timeoutMs: 20_000,
        what: 'processor and sink to take every event',
      });
    },
    close: async () => {
      for (const c of Object.values(tracking)) c.close();
      await gateway.close();
      await consumer.stop();
      await fx.close();
    },
  };
  return f;
}
