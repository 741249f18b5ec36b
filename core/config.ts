// Configuration: read once from the environment (and CLI flags, which the CLI passes as overrides of the
// same variable names) into a typed, validated object. Every variable, its default and its meaning is in
// SETTINGS below; `portstream config` prints them. A bad value stops start-up naming the variable.
import os from 'node:os';
import { z } from 'zod';
import { misspeltSettings } from './config-spelling.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * Processors for a nats-server that shares its machine with the services (`up`, the bench): a quarter of the
 * cores, at least one. Go's collector otherwise marks on every processor left idle, and on a small machine
 * that takes the cores the services' event loops were about to run on (bench/README, eleventh round).
 */
export function oneMachineNatsProcs(cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 4));
}

/** UP_NATS_PROCS as the server's GOMAXPROCS: auto resolved on this machine. */
export function natsProcs(setting: number | 'all' | 'auto'): number | 'all' {
  return setting === 'auto' ? oneMachineNatsProcs() : setting;
}

/** Every setting: environment variable -> schema (with its default) and one line of documentation. */
export const SETTINGS = {
  PORTSTREAM_DATA_DIR: {
    schema: z.string().min(1).default('./data'),
    doc: 'Folder for the local nats-server store, embedded ClickHouse data and other state.',
  },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    doc: 'pino log level.',
  },
  LOG_FORMAT: {
    schema: z.enum(['auto', 'json', 'pretty']).default('auto'),
    doc: 'auto: pretty in a terminal, JSON otherwise. `up` always logs JSON lines to `<PORTSTREAM_DATA_DIR>/logs/up.log`.',
  },
  NATS_URL: {
    schema: optionalString,
    doc: 'NATS server(s), comma-separated. `up` starts a local nats-server when unset or unreachable; services default to nats://127.0.0.1:4222.',
  },
  CUSTOMS_RULES_FILE: {
    schema: optionalString,
    doc: 'Risk rule-set JSON file the gateway decides declarations with, reloaded when it changes (a bad file is refused, old rules stay); unset: built-in default rules.',
  },
  CUSTOMS_SELECTION_SECRET_FILE: {
    schema: optionalString,
    doc: 'JSON file of the secrets random inspection draws with (`{"secrets":[{"version","secret"}]}`, hex of 32+ bytes; newest last, or the version the rules name); `up` creates one in the data folder. Never in the repository. Unset: a random secret per gateway (no replay).',
  },
  CUSTOMS_ENTERPRISES_FILE: {
    schema: optionalString,
    doc: 'JSON file (`{"enterprises":[{"taxCode","name","priority":"ENTERPRISE_PRIORITY_AEO","watchListed","watchReason","licences":[...]}]}`) the gateway seeds the enterprise register from at start-up: entries not on the register yet are created; existing ones are left as customs changed them.',
  },
  PROCESSOR_ACK_WAIT_MS: {
    schema: positiveInt.default(10_000),
    doc: 'ack_wait of the processor consumers: how long a command or event group a crashed processor held waits before another processor gets it (long work renews it).',
  },
  PROCESSOR_CONTAINER_RETENTION_HOURS: {
    schema: positiveInt.default(24 * 7),
    doc: 'How long a container that left the port (gate-out, pick-up or loading) stays in the ps_containers bucket: past it the processor (state role) removes the record unless a shipment or a declaration still open needs it. GetContainerStatus then answers NOT_FOUND; its history stays in ClickHouse.',
  },
  PROCESSOR_STATE_CACHE_KEYS: {
    schema: positiveInt.default(20_000),
    doc: 'Container and vessel-visit entries the state processor remembers (the last it read or wrote), so a key it alone writes is written without reading it first; a remembered entry another writer moved on costs one refused write and a read. Records are a few hundred bytes to a few KB.',
  },
  PROCESSOR_ROLES: {
    schema: z
      .string()
      .default('customs,state')
      .transform((v) => v.split(',').map((r) => r.trim()))
      .pipe(z.array(z.enum(['customs', 'state'])).min(1)),
    doc: 'What a processor runs, comma-separated: customs (the ledger projector: decision feed, declaration state, container links), state (container and vessel state). Run them as separate processes so event load never delays the decision feed.',
  },
  NATS_USER: { schema: optionalString, doc: 'NATS user name.' },
  NATS_PASSWORD: { schema: optionalString, doc: 'NATS password (never logged).' },
  NATS_TOKEN: { schema: optionalString, doc: 'NATS auth token (never logged).' },
  NATS_CREDS_FILE: { schema: optionalString, doc: 'NATS credentials file (JWT + nkey seed).' },
  NATS_TLS_CA_FILE: {
    schema: optionalString,
    doc: "PEM CA bundle that signed the NATS servers' certificates; set (or NATS_TLS_CERT_FILE set) means connect to NATS over TLS only.",
  },
  NATS_TLS_CERT_FILE: {
    schema: optionalString,
    doc: 'PEM client certificate presented to NATS (mutual TLS; needs NATS_TLS_KEY_FILE).',
  },
  NATS_TLS_KEY_FILE: {
    schema: optionalString,
    doc: 'PEM private key of NATS_TLS_CERT_FILE (its contents are never logged).',
  },
  NATS_SERVER_BIN: {
    schema: z.string().min(1).default('nats-server'),
    doc: 'nats-server binary that `up` starts when no NATS answers.',
  },
  JS_REPLICAS: {
    schema: z.coerce.number().int().min(1).max(5).default(1),
    doc: 'Replicas for streams and buckets (3 on a cluster).',
  },
  JS_EVENTS_MAX_AGE_HOURS: {
    schema: positiveInt.default(24 * 7),
    doc: 'How long the events stream keeps messages.',
  },
  JS_EVENTS_MAX_BYTES: {
    schema: positiveInt.default(10 * 1024 ** 3),
    doc: 'Size cap of the events stream; when full, new publishes are refused (never silently dropped).',
  },
  JS_DUPLICATE_WINDOW_SECONDS: {
    schema: positiveInt.default(120),
    doc: 'JetStream duplicate window for message ids (exact re-sends of a batch).',
  },
  INGEST_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the ingest gRPC server binds.',
  },
  INGEST_PORT: { schema: port.default(50051), doc: 'Ingest gRPC port (0: any free port).' },
  INGEST_SERVICES: {
    schema: z
      .string()
      .default('events,manifests,customs')
      .transform((v) => v.split(',').map((r) => r.trim()))
      .pipe(z.array(z.enum(['events', 'manifests', 'customs'])).min(1)),
    doc: "What a gateway serves, comma-separated: events (IngestService: terminal events), manifests (ManifestService: carriers' manifests), customs (CustomsService and EnterpriseService: declarations decided here, the register). Under event load run a customs gateway apart (INGEST_SERVICES=customs), so declarations never wait behind event batches on one event loop. `up` and `cluster` gateways serve all three.",
  },
  INGEST_MAX_BATCH_EVENTS: {
    schema: positiveInt.max(100_000).default(5000),
    doc: 'Most events in one batch; a larger batch is refused with INVALID_ARGUMENT.',
  },
  INGEST_MAX_MESSAGE_BYTES: {
    schema: positiveInt.max(64 * 1024 * 1024).default(8 * 1024 * 1024),
    doc: 'Largest gRPC message the server accepts (RESOURCE_EXHAUSTED above it).',
  },
  INGEST_MAX_INFLIGHT_PUBLISHES: {
    schema: positiveInt.max(10_000).default(256),
    doc: 'JetStream publishes in flight per gateway process; beyond it batches wait (backpressure).',
  },
  INGEST_MAX_INFLIGHT_BATCHES_PER_STREAM: {
    schema: positiveInt.max(1000).default(16),
    doc: 'Batches one StreamEvents call may have unanswered before the gateway stops reading it.',
  },
  INGEST_PUBLISH_TIMEOUT_MS: {
    schema: positiveInt.default(5000),
    doc: 'How long the gateway waits for JetStream to confirm a write before answering UNAVAILABLE.',
  },
  INGEST_MAX_FUTURE_SKEW_SECONDS: {
    schema: positiveInt.default(300),
    doc: 'ACTUAL events may be at most this far in the future (clock skew).',
  },
  INGEST_MAX_PLAN_AHEAD_DAYS: {
    schema: positiveInt.default(366),
    doc: 'PLANNED/ESTIMATED events may be at most this far in the future.',
  },
  INGEST_MAX_AGE_DAYS: {
    schema: positiveInt.default(366),
    doc: "Events older than this are rejected. The processor (state role) reads it too: a retired container's delete marker is removed once no event it guards against can still come, this long plus the events stream's max_age after the container's newest event. Give gateways and processors the same value (deploy/ sets it in the settings every service reads).",
  },
  INGEST_DEDUPE_CACHE_SIZE: {
    schema: z.coerce.number().int().min(0).default(1_000_000),
    doc: 'Recently accepted event ids each gateway remembers to answer DUPLICATE (0: off).',
  },
  CUSTOMS_MAX_WAIT_MS: {
    schema: positiveInt.default(5000),
    doc: 'Server-side cap on how long SubmitDeclaration (and the other customs commands) waits for a decision.',
  },
  AUTH_TOKENS_FILE: {
    schema: optionalString,
    doc: 'JSON file of bearer tokens and roles (see README). Required by every service; `up` creates one under the data folder when unset.',
  },
  TLS_CERT_FILE: {
    schema: optionalString,
    doc: 'PEM certificate (chain) of the gRPC servers (ingest, customs, tracking) and the HTTP API; set with TLS_KEY_FILE to serve TLS only. Unset: plaintext.',
  },
  TLS_KEY_FILE: {
    schema: optionalString,
    doc: 'PEM private key of TLS_CERT_FILE (its contents are never logged).',
  },
  TLS_CLIENT_CA_FILE: {
    schema: optionalString,
    doc: 'PEM CA bundle for mutual TLS: when set, every gRPC and HTTPS client must present a certificate it signed (needs TLS_CERT_FILE).',
  },
  RATE_LIMIT_EVENTS_PER_SECOND: {
    schema: z.coerce.number().min(0).default(50_000),
    doc: 'Events per second each caller (token name) may publish through one gateway (0: no limit); over it RESOURCE_EXHAUSTED.',
  },
  RATE_LIMIT_EVENTS_BURST: {
    schema: positiveInt.default(100_000),
    doc: 'Events a caller may publish at once above its rate (bucket size; a batch costs its number of events).',
  },
  RATE_LIMIT_CUSTOMS_PER_SECOND: {
    schema: z.coerce.number().min(0).default(2000),
    doc: 'CustomsService calls per second per caller and gateway (0: no limit).',
  },
  RATE_LIMIT_CUSTOMS_BURST: {
    schema: positiveInt.default(4000),
    doc: 'CustomsService calls a caller may make at once above its rate.',
  },
  RATE_LIMIT_API_PER_SECOND: {
    schema: z.coerce.number().min(0).default(2000),
    doc: 'Tracking API requests (gRPC and HTTP together) per second per caller and API process (0: no limit); over it RESOURCE_EXHAUSTED / 429.',
  },
  RATE_LIMIT_API_BURST: {
    schema: positiveInt.default(4000),
    doc: 'Tracking API requests a caller may make at once above its rate.',
  },
  OPS_HTTP_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the operations endpoint of `portstream ingest|processor|sink|api` binds: /healthz, /readyz (NATS, and ClickHouse where used, answer) and Prometheus /metrics; HTTPS when TLS_CERT_FILE is set (never mutual TLS, so probes can reach it).',
  },
  OPS_HTTP_PORT: {
    schema: port.default(0),
    doc: 'Port of that operations endpoint (0: any free port, logged at start-up; the manifests in deploy/ use 9464). `up` serves /metrics on the API port instead.',
  },
  SHUTDOWN_TIMEOUT_MS: {
    schema: positiveInt.default(15_000),
    doc: 'Graceful shutdown budget before in-flight work is abandoned.',
  },
  CLICKHOUSE_URL: {
    schema: optionalString,
    doc: 'ClickHouse HTTP(S) server, e.g. http://127.0.0.1:8123. Unset: embedded ClickHouse (chDB) under the data folder.',
  },
  CLICKHOUSE_USER: { schema: z.string().min(1).default('default'), doc: 'ClickHouse server user.' },
  CLICKHOUSE_PASSWORD: { schema: optionalString, doc: 'ClickHouse server password (never logged).' },
  CLICKHOUSE_DATABASE: {
    schema: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a plain identifier')
      .default('portstream'),
    doc: 'ClickHouse database for the event log, customs records and rollups (created by the migrations).',
  },
  CLICKHOUSE_REQUEST_TIMEOUT_MS: {
    schema: positiveInt.default(30_000),
    doc: 'ClickHouse server request timeout; a timed-out insert is retried with the same deduplication token.',
  },
  SINK_BATCH_MAX_ROWS: {
    schema: positiveInt.max(1_000_000).default(50_000),
    doc: 'Rows at which the ClickHouse sink closes a batch and inserts it (one INSERT per table). Each INSERT creates parts (files) in the table, its projections and its views, and merges create more: 50,000 rows cost about a third less CPU per row than 10,000 for about 100 MB more memory (bench/sink-growth.ts).',
  },
  SINK_FLUSH_INTERVAL_MS: {
    schema: positiveInt.default(1000),
    doc: 'Longest a row waits in a sink batch before it is inserted: about one INSERT per second per table under load.',
  },
  SINK_RETRY_MAX_MS: {
    schema: positiveInt.default(30_000),
    doc: 'Longest wait between insert retries while ClickHouse is unavailable (backoff doubles up to it).',
  },
  SINK_ACK_WAIT_MS: {
    schema: positiveInt.default(5000),
    doc: 'ack_wait of the sink consumers: what a killed sink held reaches the next lease holder this long after it stopped renewing (a live sink renews what it holds every third of it, a batch waiting for ClickHouse included).',
  },
  SINK_LEASE_TTL_MS: {
    schema: positiveInt.default(10_000),
    doc: 'Lease per stream among several sinks: one writes, the others take over this long after it stops renewing (set when the ps_sink_leases bucket is created).',
  },
  UP_NATS_PORT: {
    schema: port.default(0),
    doc: 'Port for the nats-server that `up` starts when no NATS answers (0: any free port).',
  },
  UP_NATS_PROCS: {
    schema: z.union([z.literal('auto'), z.literal('all'), positiveInt]).default('auto'),
    doc: "Processors (Go's GOMAXPROCS) for the nats-server that `up` starts: it shares the machine with every service. auto: a quarter of the machine's cores, at least 1; all: every core (Go's default); or a number.",
  },
  UP_SIMULATE: { schema: bool.default(true), doc: '`up` runs the simulator too.' },
  API_GRPC_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the tracking API gRPC server binds (tokens are required on every address).',
  },
  API_GRPC_PORT: { schema: port.default(50052), doc: 'Tracking API gRPC port (0: any free port).' },
  API_HTTP_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the HTTP/JSON API, OpenAPI document, /metrics and dashboard bind.',
  },
  API_HTTP_PORT: { schema: port.default(8080), doc: 'HTTP API and dashboard port (0: any free port).' },
  API_MAX_BODY_BYTES: {
    schema: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
    doc: 'Largest HTTP request body the API accepts (413 above it); its routes are reads.',
  },
  NOTIFY_GRPC_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the notify service gRPC server (WebhookService) binds.',
  },
  NOTIFY_GRPC_PORT: { schema: port.default(50053), doc: 'Notify service gRPC port (0: any free port).' },
  NOTIFY_HTTP_HOST: {
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Address the notify service HTTP/JSON routes (`/v1/webhooks`) bind.',
  },
  NOTIFY_HTTP_PORT: { schema: port.default(8081), doc: 'Notify service HTTP port (0: any free port).' },
  NOTIFY_ALLOW_PRIVATE_TARGETS: {
    schema: bool.default(false),
    doc: 'Deliver webhooks to loopback, private, link-local and other non-public addresses too (tests, closed networks). Off: such an endpoint is refused at registration and at each delivery, whatever its name resolves to.',
  },
  NOTIFY_ALLOW_HTTP: {
    schema: bool.default(false),
    doc: 'Accept http:// webhook endpoints (tests). Off: https:// only, with the certificate verified against the system CAs.',
  },
  NOTIFY_REQUEST_TIMEOUT_MS: {
    schema: positiveInt.max(120_000).default(10_000),
    doc: 'How long one webhook delivery waits for the endpoint to answer before it counts as failed.',
  },
  NOTIFY_RETRY_MIN_MS: {
    schema: positiveInt.default(1000),
    doc: 'First wait before a failed delivery is retried; it doubles per attempt up to NOTIFY_RETRY_MAX_MS.',
  },
  NOTIFY_RETRY_MAX_MS: {
    schema: positiveInt.default(300_000),
    doc: 'Longest wait between retries of a failed delivery.',
  },
  NOTIFY_DISABLE_AFTER_MS: {
    schema: positiveInt.default(3 * 24 * 3600 * 1000),
    doc: 'A webhook whose deliveries have failed for this long without a success is disabled (its owner re-enables it; nothing is lost while the outbox keeps it).',
  },
  NOTIFY_SECRET_OVERLAP_MS: {
    schema: positiveInt.default(24 * 3600 * 1000),
    doc: 'After a secret rotation, how long the previous secret keeps signing deliveries beside the new one.',
  },
  NOTIFY_MAX_WEBHOOKS_PER_CALLER: {
    schema: positiveInt.max(1000).default(20),
    doc: 'Webhooks one token name may have at once (RESOURCE_EXHAUSTED above it).',
  },
  NOTIFY_OUTBOX_MAX_AGE_HOURS: {
    schema: positiveInt.default(24 * 7),
    doc: 'How long a delivery waits in the outbox stream (PS_WEBHOOK_OUTBOX) for a failing or disabled endpoint before it is dropped.',
  },
} as const satisfies Record<string, { schema: z.ZodType; doc: string }>;

type Settings = typeof SETTINGS;
export type Config = { readonly [K in keyof Settings]: z.output<Settings[K]['schema']> };
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses env (usually process.env) with overrides (CLI flags, same names) on top. A variable in env with a
 * settings prefix that is no setting (a misspelling) is a problem too, named with the nearest setting.
 */
export function loadConfig(env: Env, overrides: Env = {}): Config {
  const out: Record<string, unknown> = {};
  // Flags only ever name real settings; the environment may hold typos and names from older releases.
  const problems: string[] = misspeltSettings(env, Object.keys(SETTINGS));
  for (const [name, setting] of Object.entries(SETTINGS)) {
    const raw = overrides[name] ?? env[name];
    const parsed = (setting.schema as z.ZodType).safeParse(
      raw === '' && name !== 'NATS_URL' ? undefined : raw,
    );
    if (parsed.success) out[name] = parsed.data;
    else
      problems.push(
        `${name}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/** Rows for documentation: name, default, meaning. */
export function describeSettings(): { name: string; default: string; doc: string }[] {
  return Object.entries(SETTINGS).map(([name, s]) => {
    const d = (s.schema as z.ZodType).safeParse(undefined);
    const value: unknown = d.success ? d.data : undefined;
    return {
      name,
      default:
        value === undefined
          ? ''
          : Array.isArray(value)
            ? value.join(',')
            : JSON.stringify(value).replace(/^"|"$/g, ''),
      doc: s.doc,
    };
  });
}
