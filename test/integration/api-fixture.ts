// Shared set-up for the tracking API suites: a real nats-server with the portstream streams, embedded
// ClickHouse (chDB) fed by the real sink, the processor's KV buckets written with the processor's own encoders
// (core/state/*), and the API itself (gRPC + HTTP on free ports).
import { jetstream } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { startApi, type ApiHandle } from '../../api/main.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import type { ServerTls } from '../../core/tls/files.js';
import { encodeContainerRecord } from '../../core/state/container.js';
import { encodeDeclarationState, type DeclarationState } from '../../core/state/declaration.js';
import { encodeVisitRecord } from '../../core/state/visit.js';
import { startSink, createSinkMetrics, type SinkHandle } from '../../sink/index.js';
import {
  Channel,
  ClearanceStatus,
  Declaration,
  type Decision,
} from '../../proto/gen/portstream/v1/customs.js';
import { ContainerBookkeeping, VisitBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import {
  ContainerLocation,
  ContainerStatus,
  CustomsStatus,
  VesselVisit,
  type VesselVisitStatus,
} from '../../proto/gen/portstream/v1/tracking.js';
import { testAuth } from '../../test-kit/auth.js';
import { containerNumber, FACILITY, VESSEL } from '../../test-kit/events.js';
import { startClickHouse, startNats, SINK_CONFIG, type ChFixture, type NatsFixture } from './sink-fixture.js';

export const FIRM_TAX = '0100109106';
export const OTHER_TAX = '0200200200';
/** At HICT, on a declaration of the test firm. */
export const MINE = containerNumber('MSC', 900_001);
/** At TVCT, on someone else's declaration. */
export const THEIRS = containerNumber('MSC', 900_002);
/** At HICT, no events in ClickHouse (empty history). */
export const QUIET = containerNumber('MSC', 900_003);
export const MY_DECL = '300000000001';
export const THEIR_DECL = '300000000002';

export function status(
  n: string,
  terminal: string,
  decl: string[],
  extra: Partial<ContainerStatus> = {},
): ContainerStatus {
  return ContainerStatus.fromPartial({
    containerNumber: n,
    isoSizeType: '45G1',
    location: ContainerLocation.IN_YARD,
    facility: { unLocode: 'VNHPH', terminalCode: terminal },
    customsStatus: decl.length > 0 ? CustomsStatus.PENDING : CustomsStatus.NO_DECLARATION,
    declarationNumbers: decl,
    lastEventTime: new Date(),
    ...extra,
  });
}

export function declaration(no: string, declarant: string, containers: string[]): DeclarationState {
  return {
    declaration: Declaration.fromPartial({
      declarationNumber: no,
      declarantTaxCode: declarant,
      containerNumbers: containers,
    }),
    revision: 1,
    appliedCommands: [],
    decisions: [],
  };
}

export function visit(id: string, s: VesselVisitStatus, berth = 'LH1'): VesselVisit {
  return VesselVisit.fromPartial({
    visitId: id,
    vessel: VESSEL,
    facility: FACILITY,
    berth,
    status: s,
    manifestCount: 10,
  });
}

export function decision(no: string, revision: number, channel: Channel, latencyUs: number): Decision {
  return {
    declarationNumber: no,
    revision,
    channel,
    status: channel === Channel.GREEN ? ClearanceStatus.CLEARED : ClearanceStatus.DOCUMENT_CHECK,
    rules:
      channel === Channel.GREEN
        ? []
        : [{ code: 'VALUE_ANOMALY', reason: 'goods[0] unit price is 1% of the reference for 8517', channel }],
    ruleSetVersion: 'test',
    decidedTime: new Date(),
    decisionLatencyUs: latencyUs,
    position: 0,
    note: '',
    nextSteps: [],
    selectionSecretVersion: '',
  };
}

export interface ApiFixture {
  natsFx: NatsFixture;
  chFx: ChFixture;
  sink: SinkHandle;
  api: ApiHandle;
  registry: Registry;
  putContainer(s: ContainerStatus): Promise<void>;
  putVisit(v: VesselVisit): Promise<void>;
  putDeclaration(d: DeclarationState): Promise<void>;
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  /** Serve gRPC and HTTP over TLS (mutual TLS with a client CA). */
  tls?: ServerTls;
  /** Tracking API requests per second per caller (default: no limit). */
  rateLimit?: { perSecond: number; burst: number };
}

export async function startApiFixture(opts: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const natsFx = await startNats();
  const chFx = await startClickHouse();
  const registry = new Registry();
  const sink = await startSink({
    nc: natsFx.nc,
    ch: chFx.ch,
    config: SINK_CONFIG,
    log: silentLogger(),
    metrics: createSinkMetrics(registry),
    logIntervalMs: 0,
  });
  const api = await startApi({
    config: {
      API_GRPC_HOST: '127.0.0.1',
      API_GRPC_PORT: 0,
      API_HTTP_HOST: '127.0.0.1',
      API_HTTP_PORT: 0,
      API_MAX_BODY_BYTES: 4096,
      RATE_LIMIT_API_PER_SECOND: opts.rateLimit?.perSecond ?? 0,
      RATE_LIMIT_API_BURST: opts.rateLimit?.burst ?? 1,
      JS_REPLICAS: 1,
      SHUTDOWN_TIMEOUT_MS: 2000,
    },
    log: silentLogger(),
    nc: natsFx.nc,
    ch: chFx.ch,
    registry,
    auth: testAuth,
    tls: opts.tls,
  });
  const { containers, vesselVisits, declarations } = await ensureBuckets(jetstream(natsFx.nc), 1);
  return {
    natsFx,
    chFx,
    sink,
    api,
    registry,
    putContainer: async (s) => {
      await containers.put(
        s.containerNumber,
        encodeContainerRecord({
          status: s,
          bookkeeping: ContainerBookkeeping.fromPartial({ recentEventIds: ['x'] }),
        }),
      );
    },
    putVisit: async (v) => {
      await vesselVisits.put(
        v.visitId,
        encodeVisitRecord({ visit: v, bookkeeping: VisitBookkeeping.fromPartial({}) }),
      );
    },
    putDeclaration: async (d) => {
      await declarations.put(d.declaration.declarationNumber, encodeDeclarationState(d));
    },
    close: async () => {
      await api.stop();
      await sink.stop(2000);
      await natsFx.cleanup();
      await chFx.cleanup();
    },
  };
}

/** Writes the standing data every API suite uses: two declarations, three containers. */
export async function seed(fx: ApiFixture): Promise<void> {
  await fx.putDeclaration(declaration(MY_DECL, FIRM_TAX, [MINE]));
  await fx.putDeclaration(declaration(THEIR_DECL, OTHER_TAX, [THEIRS]));
  await fx.putContainer(status(MINE, 'HICT', [MY_DECL]));
  await fx.putContainer(status(THEIRS, 'TVCT', [THEIR_DECL]));
  await fx.putContainer(status(QUIET, 'HICT', []));
}
