#!/usr/bin/env node
// The `portstream` command: one subcommand per runnable. Each subcommand is a composition root.
import { Command } from 'commander';
import { configTableMarkdown } from '../core/config-doc.js';
import { runApiCommand } from './commands/api.js';
import { runBenchCommand, type BenchCommandOptions } from './commands/bench.js';
import { runClusterCommand, type ClusterOptions } from './commands/cluster.js';
import { runIngest } from './commands/ingest.js';
import { runProcessorCommand } from './commands/processor.js';
import { runSimulateCommand, type SimulateOptions } from './commands/simulate.js';
import { runReplayCommand } from './commands/replay.js';
import { runMigrateCommand } from './commands/migrate.js';
import { runNotifyCommand } from './commands/notify.js';
import { runSinkCommand } from './commands/sink.js';
import { runUp } from './commands/up.js';
import {
  addFlags,
  COMMON_FLAGS,
  GATEWAY_FLAGS,
  INGEST_FLAGS,
  overridesFrom,
  PROCESSOR_FLAGS,
} from './options.js';

const program = new Command()
  .name('portstream')
  .description(
    'Smart-port event processing: gRPC ingest, NATS JetStream, customs clearance, ClickHouse analytics',
  )
  .showHelpAfterError();

addFlags(
  program
    .command('up')
    .description(
      'run the whole system on one machine (starts a local nats-server if none answers at NATS_URL)',
    )
    .option('--no-simulate', 'do not run the port traffic simulator [UP_SIMULATE=false]'),
  COMMON_FLAGS,
  INGEST_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  const overrides = overridesFrom(opts, COMMON_FLAGS, INGEST_FLAGS);
  await runUp(opts.simulate === false ? { ...overrides, UP_SIMULATE: 'false' } : overrides);
});

addFlags(
  program
    .command('cluster')
    .description(
      'rehearse a multi-machine deployment on this one: a 3-node NATS cluster and each service as its own process',
    )
    .option('--gateways <n>', 'ingest gateway processes', '2')
    .option('--processors <n>', 'processor processes', '2')
    .option('--no-simulate', 'do not run the simulator against the gateways')
    .option('--duration <seconds>', 'how long the simulator plays', '120')
    .option('--time-scale <x>', 'simulated seconds per second for the simulator', '720')
    .option('--seed <n>', 'simulator seed', '42'),
  COMMON_FLAGS,
).action(async (opts: ClusterOptions & Record<string, unknown>) => {
  await runClusterCommand(opts, overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program.command('ingest').description('run the ingest gateway (gRPC -> JetStream) against NATS_URL'),
  COMMON_FLAGS,
  INGEST_FLAGS,
  GATEWAY_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runIngest(overridesFrom(opts, COMMON_FLAGS, INGEST_FLAGS, GATEWAY_FLAGS));
});

addFlags(
  program
    .command('sink')
    .description('run the JetStream -> ClickHouse sink against NATS_URL and CLICKHOUSE_URL'),
  COMMON_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runSinkCommand(overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program
    .command('migrate')
    .description(
      'the admin step: with NATS_URL, create or update the NATS streams and buckets; then apply pending ClickHouse migrations (embedded or CLICKHOUSE_URL); exit',
    ),
  COMMON_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runMigrateCommand(overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program
    .command('replay')
    .description(
      "customs: replay every decision on a declaration's ledger with the rule set (CUSTOMS_RULES_FILE, or --rules) and selection secret version it names; exit 1 when one differs",
    )
    .argument('<declaration>', 'the 12-digit declaration number')
    .option('--rules <file>', 'a rule-set file of an older version to replay with as well'),
  COMMON_FLAGS,
).action(async (n: string, opts: Record<string, unknown>) => {
  await runReplayCommand(n, opts.rules as string | undefined, overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program.command('api').description('run the tracking API: gRPC, HTTP/JSON and the dashboard'),
  COMMON_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runApiCommand(overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program
    .command('notify')
    .description('run the notify service: webhooks (gRPC and HTTP/JSON), fan-out and signed deliveries'),
  COMMON_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runNotifyCommand(overridesFrom(opts, COMMON_FLAGS));
});

addFlags(
  program
    .command('processor')
    .description('run the processor (customs ledger projection, container and vessel state)'),
  COMMON_FLAGS,
  PROCESSOR_FLAGS,
).action(async (opts: Record<string, unknown>) => {
  await runProcessorCommand(overridesFrom(opts, COMMON_FLAGS, PROCESSOR_FLAGS));
});

addFlags(
  program
    .command('simulate')
    .description('play realistic Hai Phong port traffic against running gRPC endpoints')
    .requiredOption(
      '--endpoint <host:port,...>',
      'gRPC endpoint(s) of the ingest gateways (and customs), comma-separated: terminals are spread over them',
    )
    .option('--customs-endpoint <host:port>', 'customs endpoint when it differs')
    .option('--token <token>', 'bearer token for ingest (a terminal operator or admin)')
    .option('--customs-token <token>', 'bearer token for customs calls')
    .option(
      '--carrier-token <token>',
      "bearer token the carriers file each vessel call's cargo manifest with (a carrier token for every " +
        'simulated carrier code, as `up` prints, or admin; default: --token)',
    )
    .option('--seed <n>', 'seed: the same seed plays the same traffic', '42')
    .option('--duration <seconds>', 'wall-clock duration', '120')
    .option('--time-scale <x>', 'simulated seconds per second (720: a port day in two minutes)', '720')
    .option('--rate <events/s>', 'cap on events per second')
    .option('--tls-ca <file>', "connect over TLS, trusting this CA's PEM bundle for the server certificate")
    .option('--tls-cert <file>', 'client certificate (PEM) for servers that require mutual TLS')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert'),
  COMMON_FLAGS,
).action(async (opts: SimulateOptions & Record<string, unknown>) => {
  await runSimulateCommand(opts, overridesFrom(opts, COMMON_FLAGS));
});

program
  .command('bench')
  .description('run the baselines and scenarios on this machine; prints a table and writes JSON')
  .option('--quick', 'a short smoke run (under 30 s)', false)
  .option('--json <path>', 'where to write the JSON result', 'bench/results/latest.json')
  .option('--clearance-rate <n>', 'declarations per second in the clearance scenario', '500')
  .option('--background-events <n>', 'events per second behind the clearance scenario (0: none)', '10000')
  .option(
    '--sustain-rate <n>',
    'events per second of the fixed-rate end-to-end ingest run (0: skip it); the lag must be back to zero ' +
      'within 5 s after it',
    '20000',
  )
  .option('--status-rate <n>', 'container-status requests per second in the status scenario', '2000')
  .option('--status-principal <role>', 'who asks in the status scenario: firm or operator', 'firm')
  .option(
    '--soak <minutes>',
    'instead of the scenarios: run the services as separate processes under steady load for this long and ' +
      'report the RSS trend of each process',
  )
  .option('--soak-events <n>', 'events per second during --soak', '5000')
  .option('--soak-declarations <n>', 'declarations per second during --soak', '50')
  .option('--soak-status <n>', 'container-status requests per second during --soak', '200')
  .option(
    '--nats-procs <n>',
    "GOMAXPROCS of the bench's nats-server: auto (as `up` gives its own: a quarter of the cores, at least 1), " +
      'all (every core) or a number',
    'auto',
  )
  .option(
    '--keep',
    'keep the run folder (service logs, NATS and ClickHouse data) and print where it is',
    false,
  )
  .action(async (opts: BenchCommandOptions) => {
    await runBenchCommand(opts);
  });

program
  .command('config')
  .description('list every setting (environment variable), its default and meaning')
  .action(() => {
    console.log(configTableMarkdown());
  });

await program.parseAsync(process.argv);
