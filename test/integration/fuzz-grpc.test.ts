// Hostile input at every RPC of every gRPC service (enumerated from the generated service definitions), sent
// as raw bytes: random bytes, mutated valid requests, oversized messages, nested-group bombs, and the per-RPC
// hostile requests of fuzz-grpc-cases.ts. Meanwhile a well-behaved client keeps publishing and reading. After:
// both servers still SERVING, every error was an expected code (never INTERNAL/UNKNOWN) and INVALID_ARGUMENT
// named a field, and everything persisted in PS_EVENTS / PS_CUSTOMS passes the project's validators, with as
// many events stored as were answered ACCEPTED. FUZZ_SEED=<n> replays a run.
import { status, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GRPC_MAX_MESSAGE_BYTES } from '../../api/main.js';
import { checkDeclarationNumber } from '../../core/identifiers/index.js';
import { STREAM_CUSTOMS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { checkDeclaration } from '../../core/validation/declaration.js';
import { validateEvent, type EventLimits } from '../../core/validation/event.js';
import { CustomsServiceService, SubmitDeclarationResponse } from '../../proto/gen/portstream/v1/customs.js';
import { EnterpriseServiceService } from '../../proto/gen/portstream/v1/enterprise.js';
import {
  EventStatus,
  IngestServiceService,
  PublishEventsResponse,
  StreamEventsResponse,
  type EventResult,
} from '../../proto/gen/portstream/v1/ingest.js';
import { DeclarationAction, DeclarationCommand, EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { TrackingServiceClient, TrackingServiceService } from '../../proto/gen/portstream/v1/tracking.js';
import { ManifestServiceService } from '../../proto/gen/portstream/v1/manifest.js';
import { WebhookServiceService } from '../../proto/gen/portstream/v1/notify.js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../core/logger.js';
import { startNotify, type NotifyHandle } from '../../notify/main.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import {
  authMetadata,
  fuzzSeed,
  MUTATIONS,
  rawBidiInTurn,
  rawClient,
  rawServerStream,
  rawUnary,
  Rng,
  type RawOutcome,
} from '../helpers/fuzz.js';
import { publish, startGateway, type GatewayFixture } from '../helpers/gateway.js';
import { seed as seedApi, startApiFixture, MINE, type ApiFixture } from './api-fixture.js';
import { CASES, submitted, type Case, type EventExpectation } from './fuzz-grpc-cases.js';

const SEED = fuzzSeed();
const MAX_BATCH = 50;
const GATEWAY_MAX_BYTES = 256 * 1024;
/** Random and mutated requests per method and mutation class. */
const RANDOM_PER_METHOD = 20;
const MUTANTS_PER_CLASS = 3;
const CONCURRENCY = 12;

interface Target {
  service: string;
  definition: ServiceDefinition;
  client: () => Client;
  token: string;
  maxBytes: number;
}

interface Tally {
  sent: number;
  byClass: Map<string, number>;
  codes: Map<string, number>;
}

let gw: GatewayFixture;
let api: ApiFixture;
let notify: NotifyHandle;
const clients: Client[] = [];
const accepted = new Set<string>();
let acceptedAnswers = 0;
const submittedOk = new Set<string>();
const failures: string[] = [];
const tallies = new Map<string, Tally>();

beforeAll(async () => {
  gw = await startGateway('fuzz-grpc', {
    INGEST_MAX_BATCH_EVENTS: String(MAX_BATCH),
    INGEST_MAX_MESSAGE_BYTES: String(GATEWAY_MAX_BYTES),
    // No processor runs: commands are answered PENDING after this long.
    CUSTOMS_MAX_WAIT_MS: '20',
  });
  api = await startApiFixture();
  await seedApi(api);
  // Deliveries could go to loopback over http (the valid webhooks name 127.0.0.1:9 and a declaration nobody submits).
  notify = await startNotify({
    config: {
      ...gw.config,
      NOTIFY_GRPC_PORT: 0,
      NOTIFY_HTTP_PORT: 0,
      NOTIFY_ALLOW_PRIVATE_TARGETS: true,
      NOTIFY_ALLOW_HTTP: true,
    },
    log: silentLogger(),
    nc: gw.nc,
    registry: new Registry(),
    auth: testAuth,
    directory: testAuth,
  });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await notify.stop();
  await gw.close();
  await api.close();
});

function targets(): Target[] {
  const make = (address: string) => (): Client => {
    const c = rawClient(address);
    clients.push(c);
    return c;
  };
  return [
    {
      service: 'IngestService',
      definition: IngestServiceService,
      client: make(gw.ingest.address),
      token: TOKENS.operator,
      maxBytes: GATEWAY_MAX_BYTES,
    },
    {
      service: 'CustomsService',
      definition: CustomsServiceService,
      client: make(gw.ingest.address),
      token: TOKENS.customs,
      maxBytes: GATEWAY_MAX_BYTES,
    },
    {
      service: 'ManifestService',
      definition: ManifestServiceService,
      client: make(gw.ingest.address),
      token: TOKENS.carrier,
      maxBytes: GATEWAY_MAX_BYTES,
    },
    {
      service: 'EnterpriseService',
      definition: EnterpriseServiceService,
      client: make(gw.ingest.address),
      token: TOKENS.customs,
      maxBytes: GATEWAY_MAX_BYTES,
    },
    {
      service: 'WebhookService',
      definition: WebhookServiceService,
      client: make(notify.grpcAddress),
      token: TOKENS.firm,
      maxBytes: 256 * 1024,
    },
    {
      service: 'TrackingService',
      definition: TrackingServiceService,
      client: make(api.api.grpcAddress),
      token: TOKENS.admin,
      maxBytes: API_GRPC_MAX_MESSAGE_BYTES,
    },
  ];
}

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

function methodsOf(def: ServiceDefinition): Method[] {
  return Object.values(def).map((m) => ({
    path: m.path,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
  }));
}

async function send(client: Client, m: Method, c: Case, token: string | undefined): Promise<RawOutcome> {
  const md = authMetadata(token);
  if (m.requestStream) return rawBidiInTurn(client, m.path, c.messages, md);
  const body = c.messages[0] ?? Buffer.alloc(0);
  if (m.responseStream) return rawServerStream(client, m.path, body, md, 500);
  // Several messages to a unary method: one call each, in turn, until one fails.
  const responses: Buffer[] = [];
  let out: RawOutcome | undefined;
  for (const msg of c.messages.length > 0 ? c.messages : [body]) {
    out = await rawUnary(client, m.path, msg, md);
    responses.push(...out.responses);
    if (out.code !== status.OK) break;
  }
  return { ...(out as RawOutcome), responses };
}

function ingestResults(m: Method, out: RawOutcome): EventResult[][] {
  return out.responses.map((r) =>
    m.requestStream ? StreamEventsResponse.decode(r).results : PublishEventsResponse.decode(r).results,
  );
}

/** Checks one outcome against the method's rules and the case's expectations; records ACCEPTED events. */
function check(m: Method, c: Case, out: RawOutcome): void {
  const where = `${m.path} [${c.cls}]`;
  const tally = tallies.get(m.path) as Tally;
  tally.sent += 1;
  tally.byClass.set(c.cls, (tally.byClass.get(c.cls) ?? 0) + 1);
  const codeName = out.code in status ? status[out.code] : String(out.code);
  tally.codes.set(codeName, (tally.codes.get(codeName) ?? 0) + 1);
  const allowed = (CASES[m.path] as (typeof CASES)[string]).allowed;
  if (out.code !== status.OK && !allowed.includes(out.code)) {
    failures.push(`${where}: unexpected ${codeName} (${out.details})`);
  }
  if (c.expect !== undefined && out.code !== c.expect) {
    failures.push(`${where}: expected ${status[c.expect]}, got ${codeName} (${out.details})`);
  }
  if (out.code === status.INVALID_ARGUMENT && !/^[a-z][a-z0-9_.[\]]*: /.test(out.details)) {
    failures.push(`${where}: INVALID_ARGUMENT names no field: ${out.details}`);
  }
  if (m.path.includes('IngestService')) {
    ingestResults(m, out).forEach((results, i) => {
      results.forEach((r, j) => {
        if (r.status === EventStatus.ACCEPTED) {
          acceptedAnswers += 1;
          accepted.add(r.eventId);
        }
        if (r.status === EventStatus.REJECTED && (r.field === '' || r.reason === '')) {
          failures.push(`${where}: REJECTED without field or reason: ${JSON.stringify(r)}`);
        }
        const want: EventExpectation | undefined = c.events?.[i]?.[j];
        const got =
          r.status === EventStatus.ACCEPTED
            ? 'accepted'
            : r.status === EventStatus.DUPLICATE
              ? 'duplicate'
              : 'rejected';
        if (want !== undefined && want !== 'any' && want !== got) {
          failures.push(
            `${where}: event ${j} of message ${i} ${got} (${r.field}: ${r.reason}), want ${want}`,
          );
        }
      });
    });
  }
  if (m.path.endsWith('/SubmitDeclaration') && out.code === status.OK) {
    const n = SubmitDeclarationResponse.decode(out.responses[0] as Buffer).declarationNumber;
    submittedOk.add(n);
    submitted.push(n);
  }
}

/** Runs the cases with a bounded number of calls in flight. */
async function runPool(jobs: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as () => Promise<void>;
        await job();
      }
    }),
  );
}

function generatedCases(rng: Rng, m: Method, t: Target): { c: Case; token: string | undefined }[] {
  const cases = CASES[m.path];
  if (!cases) return [];
  const out: { c: Case; token: string | undefined }[] = [];
  const asIs = (c: Case): void => {
    out.push({ c, token: t.token });
  };
  for (let i = 0; i < RANDOM_PER_METHOD; i++) {
    const len = rng.pick([1, 2, 5, 16, 64, 512, 4096]);
    asIs({ cls: 'randomBytes', messages: [rng.bytes(1 + rng.int(len))] });
  }
  for (const [name, mutate] of Object.entries(MUTATIONS)) {
    for (let i = 0; i < MUTANTS_PER_CLASS; i++)
      asIs({ cls: `mutated:${name}`, messages: [mutate(rng, cases.valid(rng))] });
  }
  asIs({
    cls: 'oversized',
    messages: [Buffer.concat([cases.valid(rng), rng.bytes(t.maxBytes + 1)])],
    expect: status.RESOURCE_EXHAUSTED,
  });
  out.push({
    c: { cls: 'noToken', messages: [cases.valid(rng)], expect: status.UNAUTHENTICATED },
    token: undefined,
  });
  out.push({
    c: { cls: 'unknownToken', messages: [cases.valid(rng)], expect: status.UNAUTHENTICATED },
    token: "x'; DROP TABLE tokens; --",
  });
  for (const c of cases.hostile(rng, { maxBatchEvents: MAX_BATCH })) asIs(c);
  return out;
}

/** A client that does everything right, all through the fuzzing: every call of it must succeed. */
function wellBehaved(stop: { done: boolean }): Promise<{ ok: number; errors: string[] }> {
  const tracking = clientAs(TrackingServiceClient, api.api.grpcAddress, TOKENS.admin);
  clients.push(tracking);
  const result = { ok: 0, errors: [] as string[] };
  return (async () => {
    for (let round = 0; !stop.done || round < 3; round++) {
      try {
        const batch = discBatch(`good-${SEED}-${round}`, 5, 800_000 + round * 5);
        const res = await publish(gw.client, batch);
        for (const r of res.results) {
          if (r.status === EventStatus.ACCEPTED) {
            acceptedAnswers += 1;
            accepted.add(r.eventId);
          } else result.errors.push(`good event ${r.eventId} answered ${EventStatus[r.status]}`);
        }
        await new Promise<void>((resolve, reject) => {
          tracking.getContainerStatus({ containerNumber: MINE }, (err, res) => {
            if (err) reject(err);
            else if (res.status?.containerNumber !== MINE) reject(new Error('wrong container'));
            else resolve();
          });
        });
        result.ok += 1;
      } catch (err) {
        result.errors.push(String(err));
      }
    }
    return result;
  })();
}

async function storedMessages(nc: NatsConnection, stream: string): Promise<Uint8Array[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Uint8Array[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push(m.data);
  }
  return out;
}

async function healthy(address: string): Promise<boolean> {
  const c = rawClient(address);
  clients.push(c);
  const out = await rawUnary(c, '/grpc.health.v1.Health/Check', Buffer.alloc(0), authMetadata(undefined));
  // HealthCheckResponse { status: SERVING (1) } is field 1, varint 1.
  return out.code === status.OK && out.responses[0]?.equals(Buffer.from([0x08, 0x01])) === true;
}

describe('gRPC servers under hostile input', () => {
  it(`survive, answer only expected codes and persist nothing bad (seed ${SEED})`, async () => {
    const rng = new Rng(SEED);
    const all = targets();
    const methods = all.flatMap((t) => methodsOf(t.definition).map((m) => ({ m, t })));
    expect(methods.length).toBeGreaterThanOrEqual(16);
    // Every RPC must have its hostile cases and allowed codes: a new RPC fails here until it has them.
    expect(methods.map(({ m }) => m.path).filter((p) => !(p in CASES))).toEqual([]);
    for (const { m } of methods) tallies.set(m.path, { sent: 0, byClass: new Map(), codes: new Map() });

    // Submissions first, so amend/cancel/get/inspection also meet declarations that exist.
    const ordered = [...methods].sort(
      (a, b) =>
        Number(!a.m.path.endsWith('/SubmitDeclaration')) - Number(!b.m.path.endsWith('/SubmitDeclaration')),
    );
    const stop = { done: false };
    const good = wellBehaved(stop);
    for (const { m, t } of ordered) {
      const client = t.client();
      const jobs = generatedCases(rng, m, t).map(({ c, token }) => async () => {
        check(m, c, await send(client, m, c, token));
      });
      const started = Date.now();
      await runPool(jobs);
      process.stderr.write(`${m.path}: ${jobs.length} cases in ${Date.now() - started} ms\n`);
    }
    stop.done = true;
    const goodResult = await good;

    const summary = [...tallies].map(([path, t]) => ({
      rpc: path.split('/').slice(1).join('/'),
      sent: t.sent,
      codes: Object.fromEntries(t.codes),
    }));
    process.stderr.write(`fuzz-grpc seed ${SEED}\n${JSON.stringify(summary, null, 1)}\n`);
    expect(failures).toEqual([]);
    expect(goodResult.errors).toEqual([]);
    expect(goodResult.ok).toBeGreaterThanOrEqual(3);
    for (const [path, t] of tallies) expect(t.sent, path).toBeGreaterThan(40);

    // Still serving, on both servers.
    expect(await healthy(gw.ingest.address)).toBe(true);
    expect(await healthy(api.api.grpcAddress)).toBe(true);

    // Nothing bad persisted; every ACCEPTED event stored exactly once, nothing else stored.
    const limits: EventLimits = {
      maxFutureSkewMs: gw.config.INGEST_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxPlanAheadMs: gw.config.INGEST_MAX_PLAN_AHEAD_DAYS * 86_400_000,
      maxAgeMs: gw.config.INGEST_MAX_AGE_DAYS * 86_400_000,
    };
    const stored: string[] = [];
    for (const data of await storedMessages(gw.nc, STREAM_EVENTS)) {
      const g = EventGroup.decode(data);
      const at = g.receivedTime?.getTime() ?? Number.NaN;
      for (const ev of g.events) {
        expect(validateEvent(ev, at, limits), ev.eventId).toBeUndefined();
        stored.push(ev.eventId);
      }
    }
    expect(stored.length).toBe(acceptedAnswers);
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(accepted);

    const submittedStored = new Set<string>();
    for (const data of await storedMessages(gw.nc, STREAM_CUSTOMS)) {
      const cmd = DeclarationCommand.decode(data);
      expect(checkDeclarationNumber(cmd.declarationNumber)).toBeUndefined();
      if (cmd.action === DeclarationAction.SUBMIT || cmd.action === DeclarationAction.AMEND) {
        expect(checkDeclaration(cmd.declaration), cmd.declarationNumber).toBeUndefined();
      }
      if (cmd.action === DeclarationAction.SUBMIT) submittedStored.add(cmd.declarationNumber);
    }
    expect(submittedStored).toEqual(submittedOk);
    expect(submittedOk.size).toBeGreaterThan(0);
  }, 120_000);
});
