// `portstream bench`: baselines and scenarios on this machine, table to stdout, JSON to --json; with --soak, the
// memory soak instead (services as separate processes under steady load, RSS trend per process).
import { natsProcs, SETTINGS } from '../../core/config.js';
import { BenchLoadError } from '../../bench/harness/load-account.js';
import { runBench } from '../../bench/harness/run.js';
import { runSoak } from '../../bench/harness/soak.js';
import { resultTable } from '../../bench/harness/table.js';

export interface BenchCommandOptions {
  quick: boolean;
  json: string;
  clearanceRate: string;
  backgroundEvents: string;
  sustainRate: string;
  statusRate: string;
  statusPrincipal: string;
  soak?: string;
  soakEvents: string;
  soakDeclarations: string;
  soakStatus: string;
  keep: boolean;
  natsProcs: string;
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got ${v}`);
  return n;
}

function natsProcsFlag(v: string): number | 'all' {
  const parsed = SETTINGS.UP_NATS_PROCS.schema.safeParse(v);
  if (!parsed.success) throw new Error(`--nats-procs must be auto, all or a whole number >= 1, got ${v}`);
  return natsProcs(parsed.data);
}

export async function runBenchCommand(opts: BenchCommandOptions): Promise<void> {
  try {
    await run(opts);
  } catch (e) {
    // Load the system did not answer as valid load must be: the figures would measure something else.
    if (!(e instanceof BenchLoadError)) throw e;
    console.error(`bench failed: ${e.message}`);
    process.exitCode = 1;
  }
}

async function run(opts: BenchCommandOptions): Promise<void> {
  if (opts.statusPrincipal !== 'firm' && opts.statusPrincipal !== 'operator') {
    throw new Error(`--status-principal must be firm or operator, got ${opts.statusPrincipal}`);
  }
  const natsProcs = natsProcsFlag(opts.natsProcs);
  const result =
    opts.soak === undefined
      ? await runBench({
          quick: opts.quick,
          jsonPath: opts.json,
          clearanceRate: Number(opts.clearanceRate),
          backgroundEvents: Number(opts.backgroundEvents),
          sustainRate: positive('--sustain-rate', opts.sustainRate),
          statusRate: positive('--status-rate', opts.statusRate),
          statusPrincipal: opts.statusPrincipal,
          keep: opts.keep,
          natsProcs,
        })
      : await runSoak({
          minutes: positive('--soak', opts.soak),
          jsonPath: opts.json,
          eventsPerSec: positive('--soak-events', opts.soakEvents),
          declarationsPerSec: positive('--soak-declarations', opts.soakDeclarations),
          statusPerSec: positive('--soak-status', opts.soakStatus),
          natsProcs,
        });
  console.log(resultTable(result));
  console.log(`\nJSON written to ${opts.json}`);
}
