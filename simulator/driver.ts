// Plays the traffic model against the real gRPC APIs, as the port's clients would: the carriers filing each
// vessel call's cargo manifest before arrival, one StreamEvents stream per terminal operator and a pool of customs
// clients. Items are released when the compressed
// clock reaches them, optionally capped at `rate` events/s; the counters in SimulationStats are live. With
// several gateway endpoints, terminals are spread over them and every client fails over to the next.
import { credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CustomsServiceClient } from '../proto/gen/portstream/v1/customs.js';
import { IngestServiceClient } from '../proto/gen/portstream/v1/ingest.js';
import { ManifestServiceClient } from '../proto/gen/portstream/v1/manifest.js';
import { CustomsAgent } from './customs-agent.js';
import { EventStreamer } from './ingest-stream.js';
import { ManifestAgent } from './manifest-agent.js';
import { anchorClock, wallTimeOf } from './model/clock.js';
import { traffic } from './model/day.js';
import { createRng } from './model/prng.js';
import { sleep } from './retry.js';
import { createStats } from './stats.js';
import type { SimulationStats } from './stats.js';

export interface SimulationOptions {
  /** gRPC endpoint of the gateway and customs service, host:port; several comma-separated. */
  readonly endpoint: string;
  /** Customs endpoint(s) when they differ from `endpoint`. */
  readonly customsEndpoint?: string;
  readonly seed: number;
  /** Wall-clock duration of the run, ms. */
  readonly durationMs: number;
  /** Simulated ms per wall ms (default 720: a port day in two minutes). */
  readonly timeScale?: number;
  /** Cap on events sent per second (default: none, the clock alone paces the run). */
  readonly rate?: number;
  /** Events per StreamEvents batch (default 100). */
  readonly batchSize?: number;
  /** Unanswered batches per stream (default 8). */
  readonly window?: number;
  /** Longest a partial batch waits for more events, ms (default 200). */
  readonly lingerMs?: number;
  /** Bearer token sent on every call (default: none). */
  readonly token?: string;
  /** Per-terminal operator tokens (terminal code -> token), overriding `token` for ingest. */
  readonly terminalTokens?: Readonly<Record<string, string>>;
  /** Bearer token for the customs calls, overriding `token`. */
  readonly customsToken?: string;
  /**
   * Bearer token the carriers file manifests with (FileManifest on `endpoint`), overriding `token`: a carrier
   * token holding every simulated carrier code (CARRIERS in model/catalog.ts), or an admin token.
   */
  readonly carrierToken?: string;
  /** SubmitDeclaration / RecordInspectionResult deadline, ms (default 5000). */
  readonly deadlineMs?: number;
  /** FileManifest deadline, ms (default 30000: a filing writes a record per bill and per container). */
  readonly manifestDeadlineMs?: number;
  /** Attempts per customs call or manifest filing before it counts as failed (default 8: about 15 s of backoff). */
  readonly customsAttempts?: number;
  /** Concurrent customs calls (default 16). */
  readonly customsConcurrency?: number;
  readonly callsPerDay?: number;
  readonly containersPerCall?: readonly [number, number];
  readonly credentials?: ChannelCredentials;
  /** Stops the run early; in-flight batches are still answered before it resolves. */
  readonly signal?: AbortSignal;
  /** Counters to update live (default: a fresh object, returned at the end). */
  readonly stats?: SimulationStats;
}

function bearer(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined && token !== '') md.set('authorization', `Bearer ${token}`);
  return md;
}

/** `host:port[,host:port...]` as a list; an empty list is a usage error. */
export function endpointList(endpoints: string): string[] {
  const list = endpoints
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0) throw new RangeError(`no gRPC endpoint in ${JSON.stringify(endpoints)}`);
  return list;
}

export async function runSimulation(opts: SimulationOptions, log: Logger): Promise<SimulationStats> {
  const stats = opts.stats ?? createStats();
  const timeScale = opts.timeScale ?? 720;
  const creds = opts.credentials ?? grpcCredentials.createInsecure();
  const rng = createRng(opts.seed ^ 0x5eed);
  const ingest = endpointList(opts.endpoint).map((e) => new IngestServiceClient(e, creds));
  const customsClients = endpointList(opts.customsEndpoint ?? opts.endpoint).map(
    (e) => new CustomsServiceClient(e, creds),
  );
  const manifestClients = endpointList(opts.endpoint).map((e) => new ManifestServiceClient(e, creds));
  const streamers = new Map<string, EventStreamer>();
  const streamerFor = (terminal: string): EventStreamer => {
    let s = streamers.get(terminal);
    if (s === undefined) {
      const md = bearer(opts.terminalTokens?.[terminal] ?? opts.token);
      const so = {
        name: terminal,
        random: rng.next,
        firstGateway: streamers.size,
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      };
      s = new EventStreamer(ingest, md, stats, log.child({ terminal }), {
        ...so,
        ...(opts.window ? { window: opts.window } : {}),
      });
      streamers.set(terminal, s);
    }
    return s;
  };
  const manifests = new ManifestAgent(
    manifestClients,
    bearer(opts.carrierToken ?? opts.token),
    stats,
    log.child({ component: 'carriers' }),
    {
      deadlineMs: opts.manifestDeadlineMs ?? 30_000,
      maxInFlight: 4,
      maxAttempts: opts.customsAttempts ?? 8,
      random: rng.next,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  const customs = new CustomsAgent(customsClients, bearer(opts.customsToken ?? opts.token), stats, log, {
    deadlineMs: opts.deadlineMs ?? 5_000,
    maxInFlight: opts.customsConcurrency ?? 16,
    maxAttempts: opts.customsAttempts ?? 8,
    timeScale,
    random: rng.next,
    ...(opts.signal ? { signal: opts.signal } : {}),
    // A declaration is checked against the manifest holding its bills: it waits for that filing's answer.
    before: (item) => manifests.filed(item.callIds),
  });
  const clock = anchorClock(Date.now(), opts.durationMs, timeScale);
  log.info({ seed: opts.seed, timeScale, simStart: new Date(clock.simStartMs) }, 'simulation started');
  const aborted = (): boolean => opts.signal?.aborted === true;
  const flushAll = (): Promise<unknown> => Promise.all([...streamers.values()].map((s) => s.flush()));
  const gap = opts.rate !== undefined && opts.rate > 0 ? 1000 / opts.rate : 0;
  let nextSlot = Date.now();
  let lastFlush = Date.now();
  const lingerMs = opts.lingerMs ?? 200;
  try {
    for (const item of traffic({
      seed: opts.seed,
      simStartMs: clock.simStartMs,
      simSpanMs: clock.simSpanMs,
      ...(opts.callsPerDay !== undefined ? { callsPerDay: opts.callsPerDay } : {}),
      ...(opts.containersPerCall ? { containersPerCall: opts.containersPerCall } : {}),
    })) {
      if (aborted()) break;
      let due = wallTimeOf(clock, item.at);
      if (item.kind === 'event' && gap > 0) {
        nextSlot = Math.max(nextSlot + gap, due);
        due = nextSlot;
      }
      // While waiting, partial batches linger at most lingerMs, so a slow terminal's events still flow.
      for (let now = Date.now(); now < due && !aborted(); now = Date.now()) {
        if (now - lastFlush >= lingerMs) {
          await flushAll();
          lastFlush = Date.now();
        } else await sleep(Math.min(due - now, lingerMs - (now - lastFlush)), opts.signal);
      }
      if (aborted()) break;
      if (item.kind === 'event') await streamerFor(item.event.facility?.terminalCode ?? '').add(item.event);
      else if (item.kind === 'manifest') manifests.file(item);
      else await customs.submit(item);
    }
    await Promise.all([...streamers.values()].map((s) => s.close()));
    await manifests.drain();
    await customs.drain();
  } finally {
    for (const c of [...ingest, ...customsClients, ...manifestClients]) c.close();
  }
  log.info({ stats: { ...stats, submitLatencyMs: undefined } }, 'simulation finished');
  return stats;
}
